using System.Diagnostics;
using System.Runtime.Intrinsics;
using Sieve.Threading;

namespace Sieve.Eval;

/// <summary>
/// Read bandwidth of main memory with the benchmark's own threads: the ceiling for decode, which streams every
/// weight once per token. Measured in the same run as the model so the ratio is meaningful on a noisy machine.
/// </summary>
public static unsafe class MemoryBandwidth
{
    public static double MeasureGBps(WorkerPool pool, long bytes = 512L << 20, int repetitions = 5)
    {
        byte* buffer = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            new Span<byte>(buffer, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
            for (long o = int.MaxValue; o < bytes; o += int.MaxValue)
                new Span<byte>(buffer + o, (int)Math.Min(bytes - o, int.MaxValue)).Fill(1);
            var work = new ReadWork(buffer);
            double best = 0;
            for (int r = 0; r < repetitions; r++)
            {
                var clock = Stopwatch.StartNew();
                pool.Run(work, (int)(bytes / ReadWork.Chunk), 1);
                best = Math.Max(best, bytes / clock.Elapsed.TotalSeconds / 1e9);
            }
            return best;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(buffer);
        }
    }

    sealed class ReadWork(byte* buffer) : IRangeWork
    {
        public const int Chunk = 1 << 20;
        public long Sink;

        public void Execute(int start, int end)
        {
            var acc = Vector256<byte>.Zero;
            for (long c = start; c < end; c++)
            {
                byte* p = buffer + c * Chunk;
                for (int i = 0; i < Chunk; i += 128)
                    acc |= Vector256.Load(p + i) ^ Vector256.Load(p + i + 32) ^ Vector256.Load(p + i + 64) ^ Vector256.Load(p + i + 96);
            }
            Interlocked.Add(ref Sink, acc[0]);
        }
    }
}
