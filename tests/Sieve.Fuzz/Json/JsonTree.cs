using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sieve.Fuzz.Json;

/// <summary>
/// A JSON tree that can hold what System.Text.Json's own DOM refuses: duplicate keys (a list of properties, not a
/// dictionary) and any scalar token as raw text (NaN, 1e400, a lone surrogate escape), so mutations can produce
/// every kind of malformed file a loader might meet.
/// </summary>
public abstract class JNode
{
    public abstract JNode Clone();
    public abstract void Write(StringBuilder sb);

    public static JNode Parse(byte[] utf8)
    {
        using var doc = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 256 });
        return From(doc.RootElement);
    }

    static JNode From(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => new JObject(e.EnumerateObject().Select(p => new KeyValuePair<string, JNode>(p.Name, From(p.Value))).ToList()),
        JsonValueKind.Array => new JArray(e.EnumerateArray().Select(From).ToList()),
        _ => new JRaw(e.GetRawText()),
    };

    public byte[] ToBytes()
    {
        var sb = new StringBuilder();
        Write(sb);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal for <paramref name="s"/> (non-ASCII kept as is).</summary>
    public static string Quote(string s) => JsonSerializer.Serialize(s, Relaxed);

    public static JRaw String(string s) => new(Quote(s));
    public static JRaw Number(long n) => new(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

public sealed class JObject(List<KeyValuePair<string, JNode>> props) : JNode
{
    public List<KeyValuePair<string, JNode>> Props { get; } = props;

    public JNode? this[string key] => Props.FirstOrDefault(p => p.Key == key).Value;

    public void Set(string key, JNode value)
    {
        int i = Props.FindIndex(p => p.Key == key);
        if (i >= 0) Props[i] = new(key, value); else Props.Add(new(key, value));
    }

    public override JNode Clone() => new JObject(Props.Select(p => new KeyValuePair<string, JNode>(p.Key, p.Value.Clone())).ToList());

    public override void Write(StringBuilder sb)
    {
        sb.Append('{');
        for (int i = 0; i < Props.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(Quote(Props[i].Key)).Append(':');
            Props[i].Value.Write(sb);
        }
        sb.Append('}');
    }
}

public sealed class JArray(List<JNode> items) : JNode
{
    public List<JNode> Items { get; } = items;
    public override JNode Clone() => new JArray(Items.Select(i => i.Clone()).ToList());

    public override void Write(StringBuilder sb)
    {
        sb.Append('[');
        for (int i = 0; i < Items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            Items[i].Write(sb);
        }
        sb.Append(']');
    }
}

/// <summary>A scalar as its JSON text, written verbatim (so it may be invalid JSON on purpose).</summary>
public sealed class JRaw(string text) : JNode
{
    public string Text { get; set; } = text;
    public bool IsString => Text.StartsWith('"');
    public bool IsNumber => Text.Length > 0 && (char.IsAsciiDigit(Text[0]) || Text[0] == '-');
    public string? StringValue => IsString ? JsonSerializer.Deserialize<string>(Text) : null;
    public override JNode Clone() => new JRaw(Text);
    public override void Write(StringBuilder sb) => sb.Append(Text);
}

/// <summary>Where a node sits, so a mutation can replace or remove it.</summary>
public sealed record JSlot(JNode Parent, int Index, JNode Node)
{
    public void Replace(JNode value)
    {
        switch (Parent)
        {
            case JObject o: o.Props[Index] = new(o.Props[Index].Key, value); break;
            case JArray a: a.Items[Index] = value; break;
        }
    }

    public void Remove()
    {
        switch (Parent)
        {
            case JObject o: o.Props.RemoveAt(Index); break;
            case JArray a: a.Items.RemoveAt(Index); break;
        }
    }

    public string? Key => Parent is JObject o ? o.Props[Index].Key : null;

    /// <summary>Every non-root node of <paramref name="root"/>, depth first.</summary>
    public static List<JSlot> All(JNode root)
    {
        var all = new List<JSlot>();
        void Walk(JNode n)
        {
            switch (n)
            {
                case JObject o: for (int i = 0; i < o.Props.Count; i++) { all.Add(new(o, i, o.Props[i].Value)); Walk(o.Props[i].Value); } break;
                case JArray a: for (int i = 0; i < a.Items.Count; i++) { all.Add(new(a, i, a.Items[i])); Walk(a.Items[i]); } break;
            }
        }
        Walk(root);
        return all;
    }
}
