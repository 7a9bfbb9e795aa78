global using Xunit;

// Dropout draws from TorchSharp's one global generator, which each training step seeds (manual_seed): two test
// classes training at once would interleave their draws, and resumed runs would no longer match.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
