using System.CommandLine;
using Sieve.Kernels;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve selftest</c>: every SIMD kernel against its scalar twin on this machine, under whatever instruction
/// sets the runtime allows (set DOTNET_EnableAVX512F=0, DOTNET_EnableAVX2=0 or DOTNET_EnableHWIntrinsic=0 to
/// force the narrower paths).
/// </summary>
static class SelfTestCommand
{
    public static Command Create()
    {
        var cmd = new Command("selftest", "Check every SIMD kernel against its scalar reference on this CPU");
        cmd.SetAction(_ =>
        {
            Console.WriteLine(KernelSelfTest.InstructionSets);
            var failures = KernelSelfTest.Run();
            foreach (var f in failures) Console.WriteLine($"FAIL {f}");
            Console.WriteLine(failures.Count == 0 ? "all kernels match their scalar references" : $"{failures.Count} kernel checks failed");
            return failures.Count == 0 ? 0 : 1;
        });
        return cmd;
    }
}
