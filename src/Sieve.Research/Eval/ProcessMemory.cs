namespace Sieve.Eval;

/// <summary>Resident memory of this process, from /proc (Linux); null elsewhere.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size in bytes (VmHWM).</summary>
    public static long? PeakResidentBytes => Read("VmHWM:");

    /// <summary>Current resident set size in bytes (VmRSS).</summary>
    public static long? ResidentBytes => Read("VmRSS:");

    static long? Read(string key)
    {
        try
        {
            if (!File.Exists("/proc/self/status")) return null;
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
        }
        catch (IOException) { }
        catch (FormatException) { }
        return null;
    }
}
