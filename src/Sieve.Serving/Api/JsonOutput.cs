using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sieve.Serving.Api;

/// <summary>How responses are written: UTF-8 text left as it is (a quote in a story is <c>\"</c>, not <c>\u0022</c>); JSON-significant characters are still escaped.</summary>
static class JsonOutput
{
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
