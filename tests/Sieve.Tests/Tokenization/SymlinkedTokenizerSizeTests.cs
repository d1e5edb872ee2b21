using Sieve.Formats;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// The size limit on tokenizer and config JSON is taken from the opened file: through a symbolic link (every file of
/// the Hugging Face cache is one) FileInfo.Length is the link's own ~60 bytes, and the whole target would be read.
/// </summary>
public class SymlinkedTokenizerSizeTests
{
    [Fact]
    public void AnOversizedTokenizerBehindALinkIsRefusedWithoutReadingIt()
    {
        string dir = Directory.CreateTempSubdirectory("sieve-tok-link-").FullName;
        try
        {
            string blob = Path.Combine(dir, "blob");
            using (var fs = File.Create(blob)) fs.SetLength(300L << 20);   // sparse: 300 MiB on paper, nothing on disk
            string link = Path.Combine(dir, "tokenizer.json");
            File.CreateSymbolicLink(link, "blob");
            Assert.True(new FileInfo(link).Length < 1024, "premise: the link's own length is small");
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<ModelFileException>(() => JsonField.Parse(link));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "the target was read");
            Assert.Contains("tokenizer.json", e.Message);
            Assert.Contains("too large", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
