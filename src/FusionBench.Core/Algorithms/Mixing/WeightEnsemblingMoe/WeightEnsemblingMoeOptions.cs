using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;

/// <summary>Options of <c>weight_ensembling_moe</c> (FusionBench's defaults).</summary>
public sealed class WeightEnsemblingMoeOptions
{
    /// <summary>λ of the task arithmetic that merges every non-MLP weight, and the routers' initial output. Default 0.3.</summary>
    [Description("λ of the task arithmetic merging the non-MLP weights, and the routers' initial output.")]
    [ConfigurationKeyName("init_lambda")]
    public double InitLambda { get; set; } = 0.3;

    /// <summary>Router depth: 2 = fc2(ReLU(fc1(h))), 1 = one linear layer, 0 = a learned constant. Default 2.</summary>
    [Description("Router depth: 2 is fc2(ReLU(fc1(h))), 1 one linear layer, 0 a learned constant per layer.")]
    [Range(0, 2)]
    [ConfigurationKeyName("router_hidden_layers")]
    public int RouterHiddenLayers { get; set; } = 2;

    /// <summary>Average the routing weights over the batch, so one merged MLP serves the whole batch. Default true.</summary>
    [Description("Average routing weights over the batch (one merged MLP per batch); false merges per sample (slow).")]
    [ConfigurationKeyName("batch_reduce")]
    public bool BatchReduce { get; set; } = true;

    /// <summary>Adam learning rate of the routers. Default 1e-4.</summary>
    [Description("Adam learning rate of the routers.")]
    [Range(0.0, 10.0)]
    [ConfigurationKeyName("lr")]
    public double Lr { get; set; } = 1e-4;

    /// <summary>Unlabeled test inputs per task per step. Default 16.</summary>
    [Description("Unlabeled test inputs per task per step.")]
    [Range(1, 100_000)]
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 16;

    /// <summary>Training steps. Default 1000.</summary>
    [Description("Router training steps (entropy minimisation); 0 keeps the initial routers.")]
    [Range(0, 10_000_000)]
    [ConfigurationKeyName("max_steps")]
    public int MaxSteps { get; set; } = 1000;

    /// <summary>Seed of the router initialisation and the batch sampling. Default 0.</summary>
    [Description("Seed of the router initialisation and of the batch sampling.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }

    /// <summary>Routers saved by an earlier run; when set, training is skipped.</summary>
    [Description("A router checkpoint saved by an earlier run (save_checkpoint); when given, training is skipped.")]
    [ConfigurationKeyName("checkpoint")]
    public string? Checkpoint { get; set; }

    /// <summary>Where to save the trained routers (safetensors), or null.</summary>
    [Description("Where to save the trained routers (a .safetensors file).")]
    [ConfigurationKeyName("save_checkpoint")]
    public string? SaveCheckpoint { get; set; }
}
