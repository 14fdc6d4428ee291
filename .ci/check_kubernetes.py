#!/usr/bin/env python3
"""Offline consistency checks of the Kubernetes manifests (deploy/kubernetes/*.yaml), beyond "it parses".

Every runner workload: liveness /healthz and readiness /ready on the container port that RUNNER_ADMIN_PORT names.
A workload with RUNNER_DISCOVERY=kubernetes (cluster bootstrap), in addition:
  - no RUNNER_SEED_NODES (the node refuses both);
  - the pod template's labels match the pod label selector (RUNNER_KUBERNETES_POD_LABEL_SELECTOR with {0} replaced by
    RUNNER_BOOTSTRAP_SERVICE_NAME; the node's defaults app={0} and runner otherwise);
  - a container port named RUNNER_BOOTSTRAP_PORT_NAME (default management) on RUNNER_MANAGEMENT_PORT (default 8559);
  - RUNNER_MANAGEMENT_HOSTNAME is the pod IP (downward API status.podIP);
  - RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS at most the replicas;
  - its service account is bound, in the same file, to a Role that allows get, list and watch on pods.
Prints one line per checked workload; exits 1 with every problem found.
"""
import sys
import yaml

DEFAULTS = {
    "RUNNER_ADMIN_PORT": "8558",
    "RUNNER_MANAGEMENT_PORT": "8559",
    "RUNNER_BOOTSTRAP_PORT_NAME": "management",
    "RUNNER_BOOTSTRAP_SERVICE_NAME": "runner",
    "RUNNER_KUBERNETES_POD_LABEL_SELECTOR": "app={0}",
    "RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS": "2",
}


def selector_matches(selector, labels):
    """Equality-based label selector (k=v, k==v, k!=v, comma-separated) against a label map."""
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        else:
            raise ValueError(f"selector term '{term}' is not an equality the check understands")
    return True


def role_allows_pods(role):
    for rule in role.get("rules") or []:
        if "" in (rule.get("apiGroups") or []) and "pods" in (rule.get("resources") or []) \
                and {"get", "list", "watch"} <= set(rule.get("verbs") or []):
            return True
    return False


def check(path, docs):
    problems = []
    roles = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Role"}
    bindings = [d for d in docs if d.get("kind") == "RoleBinding"]
    accounts = {d["metadata"]["name"] for d in docs if d.get("kind") == "ServiceAccount"}
    for workload in (d for d in docs if d.get("kind") in ("StatefulSet", "Deployment")):
        name = f"{path}: {workload['kind']} {workload['metadata']['name']}"
        spec = workload["spec"]
        pod = spec["template"]
        labels = pod["metadata"].get("labels") or {}
        for container in pod["spec"]["containers"]:
            env_list = container.get("env") or []
            env = {e["name"]: e.get("value") for e in env_list}
            field_refs = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in env_list}
            setting = lambda key: env.get(key) or DEFAULTS.get(key)
            ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
            where = f"{name} container {container['name']}"

            admin = ports.get(next((n for n, p in ports.items() if str(p) == setting("RUNNER_ADMIN_PORT")), None))
            if admin is None:
                problems.append(f"{where}: no container port for RUNNER_ADMIN_PORT {setting('RUNNER_ADMIN_PORT')}")
            for probe, probe_path in (("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
                get = (container.get(probe) or {}).get("httpGet") or {}
                port = get.get("port")
                if get.get("path") != probe_path or (ports.get(port, port) != admin and str(port) != setting("RUNNER_ADMIN_PORT")):
                    problems.append(f"{where}: {probe} must GET {probe_path} on the admin port ({setting('RUNNER_ADMIN_PORT')}), not {get}")

            if (env.get("RUNNER_DISCOVERY") or "seed-nodes").lower() != "kubernetes":
                print(f"{where}: seed nodes, probes on the admin port: ok")
                continue
            if "RUNNER_SEED_NODES" in env:
                problems.append(f"{where}: RUNNER_SEED_NODES is set with RUNNER_DISCOVERY=kubernetes")
            selector = setting("RUNNER_KUBERNETES_POD_LABEL_SELECTOR").replace("{0}", setting("RUNNER_BOOTSTRAP_SERVICE_NAME"))
            try:
                if not selector_matches(selector, labels):
                    problems.append(f"{where}: the pod label selector '{selector}' does not select the pod labels {labels}")
            except ValueError as e:
                problems.append(f"{where}: {e}")
            port_name = setting("RUNNER_BOOTSTRAP_PORT_NAME")
            if str(ports.get(port_name)) != setting("RUNNER_MANAGEMENT_PORT"):
                problems.append(f"{where}: no container port named '{port_name}' on RUNNER_MANAGEMENT_PORT {setting('RUNNER_MANAGEMENT_PORT')} (ports {ports})")
            hostname = env.get("RUNNER_MANAGEMENT_HOSTNAME") or ""
            if not (hostname.startswith("$(") and field_refs.get(hostname[2:-1]) == "status.podIP"):
                problems.append(f"{where}: RUNNER_MANAGEMENT_HOSTNAME must be the pod IP ($(VAR) of a status.podIP fieldRef), not '{hostname}'")
            required = int(setting("RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS"))
            if required > int(spec.get("replicas", 1)):
                problems.append(f"{where}: RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS {required} exceeds replicas {spec.get('replicas', 1)}")
            account = pod["spec"].get("serviceAccountName")
            if account not in accounts:
                problems.append(f"{where}: serviceAccountName '{account}' is not a ServiceAccount of this file")
            granted = [b for b in bindings
                       if any(s.get("kind") == "ServiceAccount" and s.get("name") == account for s in b.get("subjects") or [])
                       and b["roleRef"].get("kind") == "Role" and role_allows_pods(roles.get(b["roleRef"]["name"], {}))]
            if not granted:
                problems.append(f"{where}: no RoleBinding gives service account '{account}' a Role with get/list/watch on pods")
            print(f"{where}: kubernetes bootstrap: selector '{selector}' selects {labels}, port '{port_name}' "
                  f"= {setting('RUNNER_MANAGEMENT_PORT')}, pod IP, {required} of {spec.get('replicas', 1)} replicas, "
                  f"RBAC pods get/list/watch for '{account}': {'ok' if not problems else 'see below'}")
    return problems


def main(paths):
    problems = []
    for path in paths:
        with open(path) as f:
            problems += check(path, [d for d in yaml.safe_load_all(f) if d is not None])
    for p in problems:
        print(f"PROBLEM {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
