namespace Sieve.Generation;

/// <summary>A request whose KV cache could never fit the scheduler's KV memory budget, even running alone.</summary>
public sealed class KvBudgetException(long needBytes, long budgetBytes, int positions)
    : InvalidOperationException($"the request needs up to {needBytes / 1048576.0:F1} MiB of KV cache ({positions} positions) but the scheduler's KV budget is {budgetBytes / 1048576.0:F1} MiB: ask for fewer tokens or raise the budget")
{
    public long NeedBytes { get; } = needBytes;
    public long BudgetBytes { get; } = budgetBytes;
}
