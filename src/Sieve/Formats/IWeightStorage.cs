using Sieve.Tensors;

namespace Sieve.Formats;

/// <summary>
/// Memory that weight views point into. Lets tests (and debug checks) confirm that every view a loader handed
/// out lies inside the file it came from, which is the promise the bounds checks make.
/// </summary>
internal interface IWeightStorage
{
    bool Covers(WeightTensor t);
}
