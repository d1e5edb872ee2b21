using System.Runtime.Intrinsics.X86;

namespace Sieve.Tests.Kernels;

/// <summary>A fact that reports itself skipped, not passed, when the CPU lacks the instructions it tests.</summary>
public sealed class RequiresAvxVnniFactAttribute : FactAttribute
{
    public RequiresAvxVnniFactAttribute()
    {
        if (!AvxVnni.IsSupported) Skip = "this CPU has no AVX-VNNI (the child-process ISA runs cover the fallback)";
    }
}

/// <summary>As <see cref="RequiresAvxVnniFactAttribute"/>, for AVX2.</summary>
public sealed class RequiresAvx2FactAttribute : FactAttribute
{
    public RequiresAvx2FactAttribute()
    {
        if (!Avx2.IsSupported) Skip = "this CPU has no AVX2";
    }
}

/// <summary>A fact for the 8-wide (AVX2) kernel paths: skipped where AVX2 is missing or AVX-512 takes over.</summary>
public sealed class RequiresAvx2PathFactAttribute : FactAttribute
{
    public RequiresAvx2PathFactAttribute()
    {
        if (!Avx2.IsSupported) Skip = "this CPU has no AVX2";
        else if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Skip = "this CPU takes the AVX-512 path";
    }
}
