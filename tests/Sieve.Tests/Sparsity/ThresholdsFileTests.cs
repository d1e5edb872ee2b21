using System.Text.Json.Nodes;
using Sieve.Models;
using Sieve.Sparsity;

namespace Sieve.Tests.Sparsity;

public class ThresholdsFileTests
{
    const int Layers = 2, Dim = 4, QDim = 4, Ffn = 3;

    static ActivationThresholds Sample(SparsityMethod method) => new()
    {
        Method = method, Model = "tiny.gguf", LayerCount = Layers, Dim = Dim, QDim = QDim, FfnDim = Ffn,
        TargetSparsity = [0.5f, 0.3f], CalibrationSha256 = new string('a', 64), CalibrationTokens = 1234,
        Layers = Enumerable.Range(0, Layers).Select(l => method switch
        {
            SparsityMethod.Cats => new LayerThresholds { Gate = 0.1f * (l + 1) },
            SparsityMethod.Chess => new LayerThresholds { GateChannels = [0.1f, 1e-7f, float.MaxValue] },
            SparsityMethod.ChessPlus => new LayerThresholds { GateChannels = [0.3f, 0f, 2.5f], QInput = 0.7f, OInput = 0.01f },
            _ => new LayerThresholds { QkvInput = 0.2f, OInput = 0.3f, FfnInput = 0.4f, DownInput = 1f / 3 },
        }).ToArray(),
    };

    [Theory]
    [InlineData(SparsityMethod.Cats)]
    [InlineData(SparsityMethod.Chess)]
    [InlineData(SparsityMethod.ChessPlus)]
    [InlineData(SparsityMethod.Teal)]
    public void EveryMethodRoundTripsBitForBit(SparsityMethod method)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "sub", "t.json");
            var t = Sample(method);
            ActivationThresholdsFile.Save(path, t);
            var back = ActivationThresholdsFile.Load(path);
            Assert.Equal(t.Method, back.Method);
            Assert.Equal(t.Model, back.Model);
            Assert.Equal((t.LayerCount, t.Dim, t.QDim, t.FfnDim), (back.LayerCount, back.Dim, back.QDim, back.FfnDim));
            Assert.Equal(t.TargetSparsity, back.TargetSparsity);
            Assert.Equal(t.CalibrationSha256, back.CalibrationSha256);
            Assert.Equal(t.CalibrationTokens, back.CalibrationTokens);
            for (int l = 0; l < Layers; l++)
            {
                foreach (var site in Enum.GetValues<SparseSite>()) Assert.Equal(t.Layers[l].Scalar(site), back.Layers[l].Scalar(site));
                Assert.Equal(t.Layers[l].GateChannels, back.Layers[l].GateChannels);
            }
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.partial"));
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            Assert.Equal("sieve-activation-thresholds", (string)json["format"]!);
            Assert.Equal(method.Name(), (string)json["method"]!);
        }
        finally { Directory.Delete(dir, true); }
    }

    static string Good(SparsityMethod method = SparsityMethod.ChessPlus)
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "t.json");
        ActivationThresholdsFile.Save(path, Sample(method));
        return path;
    }

    /// <summary>The sample file with <paramref name="edit"/> applied to its JSON, saved beside it; loading it must fail naming the file and <paramref name="expected"/>.</summary>
    static void Refused(Action<JsonObject> edit, string expected, SparsityMethod method = SparsityMethod.ChessPlus)
    {
        var path = Good(method);
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(o);
            File.WriteAllText(path, o.ToJsonString());
            RefusedText(path, expected);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }
    }

    static void RefusedText(string path, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => ActivationThresholdsFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    static void RefusedRaw(string text, string expected)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "raw.json");
            File.WriteAllText(path, text);
            RefusedText(path, expected);
        }
        finally { Directory.Delete(dir, true); }
    }

    static JsonObject Layer(JsonObject o, int l) => o["layers"]![l]!.AsObject();

    [Fact]
    public void EachBadInputIsRefusedNamingTheFileAndTheProblem()
    {
        RefusedRaw("", "the file is empty");
        RefusedRaw("{\"format\": ", "not valid JSON");
        RefusedRaw("[1, 2]", "expected a JSON object");
        RefusedRaw("{\"format\": \"sieve-activation-thresholds\", \"format\": \"x\"}", "not valid JSON");   // a key twice
        RefusedRaw("{\"format\": \"sieve-activation-thresholds\", \"version\": 1, \"method\": \"chess\", \"x\": NaN}", "not valid JSON");
        Refused(o => o["format"] = "sieve-pop-plan", "not a thresholds file");
        Refused(o => o["version"] = 2, "unsupported version 2");
        Refused(o => o.Remove("version"), "\"version\" is missing");
        Refused(o => o["method"] = "relu", "unknown method \"relu\"");
        Refused(o => o.Remove("shape"), "\"shape\" (layers, dim, q_dim, ffn) is missing");
        Refused(o => o["shape"]!["ffn"] = 0, "\"ffn\" is missing or not a whole number ≥ 1");
        Refused(o => o["shape"]!["dim"] = 2.5, "\"dim\" is missing or not a whole number ≥ 1");
        Refused(o => o["target_sparsity"] = new JsonArray(0.5), "lists 1 values for 2 layers");
        Refused(o => o["target_sparsity"]![1] = 1.0, "outside [0, 1)");
        Refused(o => o["target_sparsity"]![1] = -0.1, "negative");
        Refused(o => o["target_sparsity"]![0] = "half", "not a number");
        Refused(o => o["calibration"]!["sha256"] = "xyz", "not 64 hex digits");
        Refused(o => o.Remove("layers"), "\"layers\" (the thresholds per layer) is missing");
        Refused(o => o["layers"]!.AsArray().RemoveAt(1), "holds 1 entries for 2 layers");
        Refused(o => Layer(o, 1)["layer"] = 0, "the entries must be in order");
        Refused(o => Layer(o, 0)["q_input"] = -1, "layer 0: \"q_input\" is -1, negative");
        Refused(o => Layer(o, 0)["o_input"] = 1e39, "too large for a threshold");
        Refused(o => Layer(o, 0)["o_input"] = JsonValue.Create("NaN"), "not a number");
        Refused(o => Layer(o, 0)["o_input"] = null, "not a number");
        Refused(o => Layer(o, 1)["gate_channels"]!.AsArray().RemoveAt(0), "lists 2 thresholds for an FFN of 3 channels");
        Refused(o => Layer(o, 1)["gate_channels"]![2] = -3, "\"gate_channels\"[2] is -3, negative");
        Refused(o => Layer(o, 0)["gate_chanels"] = 1, "unknown key \"gate_chanels\"");
        Refused(o => Layer(o, 0).Remove("gate_channels"), "neither \"gate\" nor \"gate_channels\"");
        // CHESS+ keeps k_proj and v_proj dense: a file that thresholds their input is not CHESS+.
        Refused(o => Layer(o, 0)["qkv_input"] = 0.1, "chess+ does not threshold qkv_input");
        Refused(o => Layer(o, 0)["gate"] = 0.1, "does not threshold gate", SparsityMethod.Teal);
        Refused(o => Layer(o, 0)["gate_channels"] = new JsonArray(1, 2, 3), "teal has no gate thresholds", SparsityMethod.Teal);
    }

    [Fact]
    public void AMissingFileAndAnotherModelsShapeAreReported()
    {
        Assert.Throws<FileNotFoundException>(() => ActivationThresholdsFile.Load(Path.Combine(Fixtures.TempDir(), "none.json")));
        var config = ShapePreset.Get("llama-1b").ToConfig();
        var e = Assert.Throws<InvalidDataException>(() => Sample(SparsityMethod.Chess).Validate(config));
        Assert.Contains($"a model of {Layers} layers", e.Message);
        Assert.Contains($"this model has {config.LayerCount}", e.Message);
    }
}
