namespace Sieve.Fuzz.Core;

/// <summary>The acceptance limits for one input.</summary>
public static class Limits
{
    /// <summary>An input that takes longer than this is a hang (issue 8: "0 hangs over 5 s").</summary>
    public const int HangMilliseconds = 5000;

    /// <summary>No input may allocate more than this (issue 8: "0 allocations over 1 GiB").</summary>
    public const long MaxAllocatedBytes = 1L << 30;

    /// <summary>
    /// The fuzz child's GC heap cap (DOTNET_GCHeapHardLimit, 1.5 GiB): a single giant allocation surfaces as an
    /// OutOfMemoryException in the child instead of swapping the machine, while allocations just under the 1 GiB
    /// limit still succeed and are caught by the per-input count.
    /// </summary>
    public const string ChildHeapHardLimit = "0x60000000";
}
