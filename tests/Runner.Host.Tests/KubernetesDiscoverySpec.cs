using System.Net;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// Akka.Discovery.KubernetesApi with the node's kubernetes settings and the KubernetesClient version the build pins, against a
/// stand-in Kubernetes API on 127.0.0.1 (HTTPS, its certificate not checked through a kubeconfig): it asks for the pods of
/// the label selector in the configured namespace with the service account's token, and returns each running pod's IP with
/// its port named <c>management</c>.
/// </summary>
public sealed class KubernetesDiscoverySpec : IDisposable
{
    private readonly TempDirectory _dir = new("runner-k8s");

    private const string PodList = """
        {"apiVersion":"v1","kind":"PodList","metadata":{},"items":[
          {"metadata":{"name":"runner-0","namespace":"saga"},
           "spec":{"containers":[{"name":"runner","ports":[{"name":"remoting","containerPort":4053},{"name":"management","containerPort":8559}]}]},
           "status":{"phase":"Running","podIP":"10.1.2.3"}},
          {"metadata":{"name":"runner-1","namespace":"saga"},
           "spec":{"containers":[{"name":"runner","ports":[{"name":"remoting","containerPort":4053},{"name":"management","containerPort":8559}]}]},
           "status":{"phase":"Pending"}}
        ]}
        """;

    [Fact]
    public async Task Kubernetes_discovery_should_list_the_selected_pods_of_the_namespace_and_return_their_management_ports()
    {
        var certs = new TestCertificates(_dir.Path);
        using var certificate = X509CertificateLoader.LoadPkcs12FromFile(certs.Pfx(TestCertificates.Node("kube-api", null), "kube-api"), TestCertificates.Password);
        var requests = new List<(string Path, string Query, string Authorization)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(certificate)));
        await using var api = builder.Build();
        api.MapGet("/api/v1/namespaces/{ns}/pods", (HttpRequest r) =>
        {
            lock (requests) requests.Add((r.Path.Value ?? "", r.QueryString.Value ?? "", r.Headers.Authorization.ToString()));
            return Results.Content(PodList, "application/json");
        });
        await api.StartAsync();
        var port = new Uri(api.Urls.Single()).Port;

        // The stand-in's certificate is self-signed: a kubeconfig that skips the check (the client reads it as its defaults; the
        // host, token and namespace still come from the discovery settings, as in a pod).
        var kubeconfig = Path.Combine(_dir.Path, "kubeconfig");
        File.WriteAllText(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters: [{name: test, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
            users: [{name: test, user: {token: unused}}]
            contexts: [{name: test, context: {cluster: test, user: test}}]
            current-context: test
            """);
        var token = Path.Combine(_dir.Path, "token");
        File.WriteAllText(token, "service-account-token");
        var hostVariable = "RUNNER_TEST_K8S_HOST_" + Guid.NewGuid().ToString("N");
        var portVariable = "RUNNER_TEST_K8S_PORT_" + Guid.NewGuid().ToString("N");
        var previousKubeconfig = Environment.GetEnvironmentVariable("KUBECONFIG");
        Environment.SetEnvironmentVariable("KUBECONFIG", kubeconfig);
        Environment.SetEnvironmentVariable(hostVariable, "127.0.0.1");
        Environment.SetEnvironmentVariable(portVariable, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var env = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["RUNNER_SHARD_ID"] = "runner-0",
                ["RUNNER_DISCOVERY"] = "kubernetes",
                ["RUNNER_KUBERNETES_NAMESPACE"] = "saga",
            };
            var node = RunnerNodeSettings.Create(RunnerConfiguration.Load([], env));
            var formation = new AkkaConfigurationBuilder(new ServiceCollection(), "runner");
            formation.WithClusterFormation(node.Discovery);
            var config = ConfigurationFactory.ParseString($$"""
                akka.discovery.kubernetes-api {
                  api-service-host-env-name = "{{hostVariable}}"
                  api-service-port-env-name = "{{portVariable}}"
                  api-token-path = "{{token}}"
                  api-ca-path = "{{Path.Combine(_dir.Path, "no-ca.crt")}}"
                }
                """).WithFallback(formation.Configuration.Value);

            using var system = ActorSystem.Create("k8s-discovery", config);
            var discovery = new KubernetesApiServiceDiscovery((ExtendedActorSystem)system, config.GetConfig("akka.discovery.kubernetes-api"));
            var resolved = await discovery.Lookup(new Lookup(node.Discovery.ServiceName, node.Discovery.PortName, "tcp"), TimeSpan.FromSeconds(10));

            var target = Assert.Single(resolved.Addresses); // the pending pod has no IP yet
            Assert.Equal("10.1.2.3", target.Host);
            Assert.Equal(8559, target.Port);
            var request = Assert.Single(requests);
            Assert.Equal("/api/v1/namespaces/saga/pods", request.Path);
            Assert.Contains("labelSelector=app%3Drunner", request.Query, StringComparison.Ordinal);
            Assert.Equal("Bearer service-account-token", request.Authorization);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KUBECONFIG", previousKubeconfig);
            Environment.SetEnvironmentVariable(hostVariable, null);
            Environment.SetEnvironmentVariable(portVariable, null);
        }
    }

    public void Dispose() => _dir.Dispose();
}
