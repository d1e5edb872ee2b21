using System.Security.Cryptography;
using Sieve.Formats;
using Sieve.Models;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Formats;

/// <summary>
/// A model reached through symbolic links loads exactly like the file behind them: sizes come from the target, not
/// the link. The Hugging Face cache is all links (snapshots/&lt;rev&gt;/x -&gt; ../../blobs/&lt;sha256&gt;), so a snapshot
/// folder must load like the folder it was copied from.
/// </summary>
public class SymlinkTests
{
    const string Text = "Once upon a time, there was a little";

    /// <summary>The prompt's tokens and the logits after them, through the full model (tokenizer and weights).</summary>
    static (int[] Tokens, float[] Logits) Run(string path)
    {
        using var m = SieveModel.Load(path, new SieveModelOptions { Threads = 1 });
        var tokens = m.Tokenizer.Encode(Text);
        var tf = m.Runner();
        return (tokens, tf.Prefill(tokens, 0, tf.CreateDenseCache(tokens.Length)).ToArray());
    }

    static void AssertSame((int[] Tokens, float[] Logits) expected, (int[] Tokens, float[] Logits) actual)
    {
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Logits, actual.Logits);
    }

    [Fact]
    public void ASymlinkedGgufLoadsLikeItsTarget()
    {
        string dir = Fixtures.TempDir();
        string link = Path.Combine(dir, "link.gguf");
        File.CreateSymbolicLink(link, Fixtures.Stories260KGguf);
        AssertSame(Run(Fixtures.Stories260KGguf), Run(link));
        // A link to a link, with a relative target.
        string link2 = Path.Combine(dir, "link2.gguf");
        File.CreateSymbolicLink(link2, "link.gguf");
        AssertSame(Run(Fixtures.Stories260KGguf), Run(link2));
        using var ck = CheckpointLoader.Load(link2);
        Assert.Equal(new FileInfo(Fixtures.Stories260KGguf).Length, ck.FileBytes);
    }

    [Fact]
    public void ASymlinkedLlama2cCheckpointAndTokenizerLoadLikeTheirTargets()
    {
        string dir = Fixtures.TempDir();
        string bin = Path.Combine(dir, "model.bin");
        File.CreateSymbolicLink(bin, Fixtures.Stories260KBin);
        File.CreateSymbolicLink(Path.Combine(dir, "tok512.bin"), Fixtures.Tok512);
        AssertSame(Run(Fixtures.Stories260KBin), Run(bin));
    }

    /// <summary>
    /// Lays <paramref name="folder"/> out as huggingface_hub's cache does: every file content-addressed under
    /// blobs/, the snapshot's names relative links to them, refs/main naming the snapshot.
    /// </summary>
    static string HfCacheOf(string folder)
    {
        string repo = Path.Combine(Fixtures.TempDir(), "models--sieve--fake-gpt2");
        string rev = "0123456789abcdef0123456789abcdef01234567";
        string snapshot = Path.Combine(repo, "snapshots", rev);
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        Directory.CreateDirectory(snapshot);
        File.WriteAllText(Path.Combine(repo, "refs", "main"), rev);
        foreach (var file in Directory.GetFiles(folder))
        {
            string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            File.Copy(file, Path.Combine(repo, "blobs", sha), overwrite: true);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", sha));
        }
        return snapshot;
    }

    /// <summary>
    /// A Hugging Face folder Sieve runs: stories260K's weights written by the converter (config.json and
    /// model.safetensors, or one shard and its index), with gpt2-fake-hf's tokenizer files beside them.
    /// </summary>
    static string HfFolder(bool sharded)
    {
        string folder = Fixtures.TempDir();
        using (var src = CheckpointLoader.Load(Fixtures.Stories260KGguf)) Sieve.Formats.Conversion.ModelConverter.ToHuggingFace(src, folder);
        foreach (var f in Directory.GetFiles(Fixtures.Gpt2Folder))
            if (Path.GetFileName(f) is not ("config.json" or "model.safetensors" or "PROVENANCE.md")) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        if (sharded)
        {
            const string shard = "model-00001-of-00001.safetensors";
            File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, shard));
            using var st = Sieve.Formats.HuggingFace.SafeTensorsFile.Open(Path.Combine(folder, shard));
            var map = st.Tensors.Keys.ToDictionary(k => k, _ => shard);
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
                System.Text.Json.JsonSerializer.Serialize(new { metadata = new { }, weight_map = map }));
        }
        return folder;
    }

    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315];

    /// <summary>The folder's tokenization of the text and the weights' logits after a fixed prompt.</summary>
    static (int[] Tokens, float[] Logits) RunFolder(string path)
    {
        using var ck = CheckpointLoader.Load(path);
        Assert.Equal("huggingface", ck.Format);
        var tokens = Sieve.Tokenization.TokenizerFactory.FromHuggingFace(ck.Path).Encode(Text);
        using var pool = new Sieve.Threading.WorkerPool(1);
        var tf = new ForwardRunner(new Transformer(ck.Config, ck.Weights), pool);
        return (tokens, tf.Prefill(Prompt, 0, tf.CreateDenseCache(Prompt.Length)).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFolderLaidOutLikeTheHuggingFaceCacheLoadsLikeTheOriginal(bool sharded)
    {
        string folder = HfFolder(sharded);
        string snapshot = HfCacheOf(folder);
        Assert.All(Directory.GetFiles(snapshot), f => Assert.NotNull(new FileInfo(f).LinkTarget));
        var expected = RunFolder(folder);
        Assert.Equal(Sieve.Tokenization.TokenizerFactory.FromHuggingFace(Fixtures.Gpt2Folder).Encode(Text), expected.Tokens);
        AssertSame(expected, RunFolder(snapshot));
        AssertSame(expected, RunFolder(Path.Combine(snapshot, "config.json")));
        // Reached through a symlinked snapshot folder as well.
        string linkedFolder = Path.Combine(Fixtures.TempDir(), "model");
        Directory.CreateSymbolicLink(linkedFolder, snapshot);
        AssertSame(expected, RunFolder(linkedFolder));
        using var ck = CheckpointLoader.Load(snapshot);
        Assert.Equal(Directory.GetFiles(folder, "*.safetensors").Sum(f => new FileInfo(f).Length), ck.FileBytes);
    }

    [Fact]
    public void DanglingAndLoopingLinksAreRefusedNamingThePath()
    {
        string dir = Fixtures.TempDir();
        string dangling = Path.Combine(dir, "dangling.gguf");
        File.CreateSymbolicLink(dangling, Path.Combine(dir, "missing.gguf"));
        string loopA = Path.Combine(dir, "a.gguf"), loopB = Path.Combine(dir, "b.gguf");
        File.CreateSymbolicLink(loopA, "b.gguf");
        File.CreateSymbolicLink(loopB, "a.gguf");
        foreach (var (path, why) in new[] { (dangling, "missing.gguf' does not exist"), (loopA, "loop") })
        {
            var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("symbolic link", e.Message);
            Assert.Contains(why, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            var r = CliRunner.Run(["run", "-m", path, "-p", "x", "-n", "1"]);
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Contains(path, r.Stderr);
        }

        // The same inside a cached Hugging Face folder whose blob went missing.
        string snapshot = HfCacheOf(HfFolder(sharded: false));
        string weights = Path.Combine(snapshot, "model.safetensors");
        File.Delete(Path.Combine(snapshot, new FileInfo(weights).LinkTarget!));
        var e2 = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(snapshot));
        Assert.Contains(weights, e2.Message);
        Assert.Contains("symbolic link", e2.Message);
    }
}
