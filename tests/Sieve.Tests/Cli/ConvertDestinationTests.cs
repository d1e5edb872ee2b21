using Sieve.Formats;
using Sieve.Formats.Conversion;

namespace Sieve.Tests.Cli;

/// <summary>
/// <c>sieve convert</c> never writes over what it reads (the model, its tokenizer, a source folder's files), by any
/// path to the same file, and its errors about the destination name the destination.
/// </summary>
public class ConvertDestinationTests
{
    /// <summary>A llama2.c checkpoint and its tokenizer copied into a fresh folder, so refusing can be checked byte for byte.</summary>
    static (string Dir, string Model, string Tokenizer) Llama2cCopy()
    {
        var dir = Fixtures.TempDir();
        string model = Path.Combine(dir, "stories260K.bin"), tok = Path.Combine(dir, "tok512.bin");
        File.Copy(Fixtures.Stories260KBin, model);
        File.Copy(Fixtures.Tok512, tok);
        return (dir, model, tok);
    }

    static void Refused(CliRunner.Result r, string mustName, string mustSay)
    {
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.Stderr}");
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(mustName, line);
        Assert.Contains(mustSay, line);
        Assert.DoesNotContain(".partial", line);
    }

    static void Unchanged(string path, string original) => Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(path));

    static IEnumerable<string> Leftovers(string dir) => Directory.EnumerateFiles(dir, "*.partial", SearchOption.AllDirectories);

    [Fact]
    public void ConvertOntoItsOwnInputIsRefusedAndTheInputKept()
    {
        var (dir, model, tok) = Llama2cCopy();
        try
        {
            Refused(CliRunner.Run(["convert", model, model, "--type", "q8_0"]), "stories260K.bin", "source");
            Unchanged(model, Fixtures.Stories260KBin);
            // The same file through another spelling of its path.
            Refused(CliRunner.Run(["convert", model, Path.Combine(dir, ".", "..", Path.GetFileName(dir), "stories260K.bin")]), "stories260K.bin", "source");
            // ... through a symbolic link, either way round ...
            string link = Path.Combine(dir, "link.bin");
            File.CreateSymbolicLink(link, model);
            Refused(CliRunner.Run(["convert", model, link]), "link.bin", "source");
            Refused(CliRunner.Run(["convert", link, model]), "stories260K.bin", "source");
            // ... through a linked folder ...
            string linkedDir = Path.Combine(dir, "linked");
            Directory.CreateSymbolicLink(linkedDir, dir);
            Refused(CliRunner.Run(["convert", model, Path.Combine(linkedDir, "stories260K.bin")]), "stories260K.bin", "source");
            // ... and onto the tokenizer it reads (found beside the model, or given).
            Refused(CliRunner.Run(["convert", model, tok]), "tok512.bin", "tokenizer");
            string other = Path.Combine(dir, "other-tok.bin");
            File.Copy(tok, other);
            Refused(CliRunner.Run(["convert", model, other, "--tokenizer", other]), "other-tok.bin", "tokenizer");
            Unchanged(other, Fixtures.Tok512);
            Unchanged(model, Fixtures.Stories260KBin);
            Unchanged(tok, Fixtures.Tok512);
            Assert.Empty(Leftovers(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConvertOntoAHardLinkOfItsInputIsRefused()
    {
        var (dir, model, _) = Llama2cCopy();
        try
        {
            string hard = Path.Combine(dir, "hard.bin");
            var ln = System.Diagnostics.Process.Start("ln", [model, hard])!;
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
            Refused(CliRunner.Run(["convert", model, hard]), "hard.bin", "source");
            Unchanged(model, Fixtures.Stories260KBin);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConvertIntoItsSourceFolderNeverReplacesAFileThere()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string hf = Path.Combine(dir, "hf");
            using (var src = CheckpointLoader.Load(Fixtures.Stories260KGguf)) ModelConverter.ToHuggingFace(src, hf);
            string config = Path.Combine(hf, "config.json"), weights = Path.Combine(hf, "model.safetensors");
            var before = (File.ReadAllBytes(config), File.ReadAllBytes(weights));
            Refused(CliRunner.Run(["convert", hf, hf, "--tokenizer", Fixtures.Tok512]), "hf", "source");
            Refused(CliRunner.Run(["convert", hf, config, "--tokenizer", Fixtures.Tok512]), "config.json", "source folder");
            Refused(CliRunner.Run(["convert", hf, weights, "--tokenizer", Fixtures.Tok512]), "model.safetensors", "source folder");
            Refused(CliRunner.Run(["convert", config, weights, "--tokenizer", Fixtures.Tok512]), "model.safetensors", "source folder");
            Assert.Equal(before.Item1, File.ReadAllBytes(config));
            Assert.Equal(before.Item2, File.ReadAllBytes(weights));
            Assert.Empty(Leftovers(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DestinationErrorsNameTheDestination()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string missing = Path.Combine(dir, "no-such-folder", "out.gguf");
            Refused(CliRunner.Run(["convert", Fixtures.Stories260KGguf, missing]), missing, "does not exist");
            string folder = Path.Combine(dir, "a-folder");
            Directory.CreateDirectory(folder);
            Refused(CliRunner.Run(["convert", Fixtures.Stories260KGguf, folder]), folder, "folder");
            Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void WriteFailuresPartWayNameTheDestinationAndLeaveNothingBehind()
    {
        var dir = Fixtures.TempDir();
        try
        {
            // 250 characters is a legal file name (255 at most), but the temporary file beside it (name + pid +
            // ".partial") is not: the write fails in the library path every writer shares, after the checks.
            string dst = Path.Combine(dir, new string('m', 245) + ".gguf");
            using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
            var tok = Sieve.Tokenization.TokenizerFactory.FromGguf(src.Gguf!);
            var e = Assert.ThrowsAny<IOException>(() => ModelConverter.ToGguf(src, tok.ToGgufMetadata(), Sieve.Tensors.GgmlType.F16, dst));
            Assert.StartsWith(dst + ": ", e.Message);
            Assert.DoesNotContain(".partial", e.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));

            var cli = CliRunner.Run(["convert", Fixtures.Stories260KGguf, dst]);
            Refused(cli, dst, "");
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}
