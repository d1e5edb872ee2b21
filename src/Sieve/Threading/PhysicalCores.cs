namespace Sieve.Threading;

/// <summary>Counts physical cores (not SMT threads) where the OS tells us; falls back to the logical count.</summary>
public static class PhysicalCores
{
    public static int Count { get; } = Detect();

    static int Detect()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                // Distinct (physical id, core id) pairs; containers may hide them, hence the fallback.
                var cores = new HashSet<(string, string)>();
                string phys = "0";
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("physical id")) phys = line[(line.IndexOf(':') + 1)..].Trim();
                    else if (line.StartsWith("core id")) cores.Add((phys, line[(line.IndexOf(':') + 1)..].Trim()));
                }
                if (cores.Count > 0) return Math.Min(cores.Count, Environment.ProcessorCount);
            }
        }
        catch (IOException) { }
        return Environment.ProcessorCount;
    }
}
