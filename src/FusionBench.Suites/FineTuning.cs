namespace FusionBench.Suites;

/// <summary>Which fine-tuned models a suite's pool takes from its zoo.</summary>
public enum FineTuning
{
    /// <summary>Full fine-tuning: every backbone weight trained (heads frozen).</summary>
    Full,

    /// <summary>LoRA: low-rank adapters on the attention projections, merged into full weights.</summary>
    Lora,
}
