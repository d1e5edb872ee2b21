using System.Runtime.CompilerServices;
using Sieve.Models;

namespace Sieve.Tests;

/// <summary>One runner per loaded model for tests that run a model on one thread (the library gives each thread its own).</summary>
static class TestRunners
{
    static readonly ConditionalWeakTable<SieveModel, ForwardRunner> Runners = new();

    public static ForwardRunner Runner(this SieveModel m) => Runners.GetValue(m, x => x.CreateRunner());
}
