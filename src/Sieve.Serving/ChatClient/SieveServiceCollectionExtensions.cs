using Microsoft.Extensions.AI;
using Sieve;
using Sieve.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of Sieve's <see cref="IChatClient"/> for dependency injection.</summary>
public static class SieveServiceCollectionExtensions
{
    /// <summary>
    /// Registers one model, loaded on first use from <paramref name="modelPath"/>, and an <see cref="IChatClient"/>
    /// over it, both singletons (the model is immutable and the client safe to call concurrently). Pass
    /// <paramref name="configure"/> to set the scheduler's limits and default methods.
    /// </summary>
    public static IServiceCollection AddSieveChatClient(this IServiceCollection services, string modelPath,
        Func<ServerOptions, ServerOptions>? configure = null, SieveModelOptions? load = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        services.AddSingleton(_ => SieveModel.Load(modelPath, load));
        services.AddSingleton(sp =>
        {
            var options = new ServerOptions { ModelId = Path.GetFileNameWithoutExtension(modelPath.TrimEnd('/', '\\')) };
            return new ServingModel(sp.GetRequiredService<SieveModel>(), configure?.Invoke(options) ?? options);
        });
        services.AddSingleton<IChatClient>(sp => new SieveChatClient(sp.GetRequiredService<ServingModel>()));
        return services;
    }
}
