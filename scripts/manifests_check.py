"""Checks rendered Kustomize output (one YAML file per kustomization, from manifests-check.sh).

1. Every object validates strictly (unknown fields rejected) against the newest Kubernetes
   schemas kubernetes-validate ships; KEDA's ScaledObject, a CRD it has no schema for, against
   the small schema below.
2. Herald's operator contract (OPERATIONS.md "Kubernetes") that schemas cannot express: secrets
   only by secretKeyRef, probes on the port named `ops`, non-loopback listeners, one autoscaler
   per Deployment with at least two replicas, a PodDisruptionBudget that allows an eviction.
"""

import os
import sys
from collections import Counter
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import yaml

SERVICES = ["gateway", "provisioning", "poller", "ingest", "delivery"]
AUTOSCALED = {"herald-poller", "herald-delivery"}
SECRET_VARS = {"HERALD_SECRET_KEY", "HERALD_SECRET_KEY_PREVIOUS", "HERALD_ADMIN_TOKEN"}
LOOPBACK = ("127.", "localhost", "[::1]")

# The fields of keda.sh/v1alpha1 ScaledObject that these manifests may use.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {k: {"type": "string"} for k in ["apiVersion", "kind", "name"]},
                },
                **{k: {"type": "integer", "minimum": 0} for k in [
                    "minReplicaCount", "maxReplicaCount", "idleReplicaCount",
                    "pollingInterval", "cooldownPeriod", "initialCooldownPeriod"]},
                "advanced": {"type": "object"},
                "fallback": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {"type": "object"},
                            # KEDA reads every trigger parameter as a string.
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}
NATS_JETSTREAM_KEYS = {"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"}


def validate_schema(obj, version, err):
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if obj.get("apiVersion", "").startswith("keda.sh/"):
        if obj["kind"] != "ScaledObject":
            return err(f"{name}: no schema for this KEDA kind")
        for e in jsonschema.Draft202012Validator(SCALED_OBJECT).iter_errors(obj):
            err(f"{name}: {'.'.join(map(str, e.path))}: {e.message}")
        for t in obj.get("spec", {}).get("triggers", []):
            if t.get("type") == "nats-jetstream" and NATS_JETSTREAM_KEYS - set(t["metadata"]):
                err(f"{name}: nats-jetstream trigger lacks {sorted(NATS_JETSTREAM_KEYS - set(t['metadata']))}")
        return
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        err(f"{name}: {'.'.join(map(str, e.path))}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        err(f"{name}: no Kubernetes {version} schema for {obj.get('apiVersion')} {obj.get('kind')}")


def check_secrets(objs, err):
    for o in objs:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] == "Secret" and (o.get("data") or o.get("stringData")):
            err(f"{name}: secrets are created out of band, not rendered with values")
        if o["kind"] == "ConfigMap" and SECRET_VARS & set(o.get("data", {})):
            err(f"{name}: holds {sorted(SECRET_VARS & set(o['data']))}")
        for c in pod_spec(o).get("containers", []) + pod_spec(o).get("initContainers", []):
            for e in c.get("env", []):
                if e["name"] in SECRET_VARS and ("value" in e or "secretKeyRef" not in e.get("valueFrom", {})):
                    err(f"{name}: {e['name']} must come only from a secretKeyRef")


def check_deployment(d, err):
    name, spec = d["metadata"]["name"], pod_spec(d)
    if spec.get("automountServiceAccountToken") is not False:
        err(f"{name}: automountServiceAccountToken must be false")
    if spec.get("terminationGracePeriodSeconds", 30) < 30:
        err(f"{name}: terminationGracePeriodSeconds below the 30 s shutdown drain")
    pod_sc = spec.get("securityContext", {})
    for c in spec["containers"]:
        where = f"{name}/{c['name']}"
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        ops = env.get("HERALD_OPS_ADDR") or ""
        if "ops" not in ports or ops.startswith(LOOPBACK) or not ops.endswith(f":{ports['ops']}"):
            err(f"{where}: needs HERALD_OPS_ADDR on a non-loopback address at the containerPort named ops")
        if name in ("herald-gateway", "herald-ingest") and (env.get("HERALD_LISTEN_ADDR") or "127.").startswith(LOOPBACK):
            err(f"{where}: HERALD_LISTEN_ADDR must be set to a non-loopback address")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") != "ops":
                err(f"{where}: {probe} must be httpGet {path} on port ops")
        res = c.get("resources", {})
        if not {"cpu", "memory"} <= set(res.get("requests", {})) or "memory" not in res.get("limits", {}):
            err(f"{where}: needs cpu and memory requests and a memory limit")
        sc = c.get("securityContext", {})
        uid = sc.get("runAsUser", pod_sc.get("runAsUser", 0))
        if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) and uid and sc.get("readOnlyRootFilesystem")
                and sc.get("allowPrivilegeEscalation") is False and not sc.get("privileged")):
            err(f"{where}: securityContext must be non-root, non-zero uid, read-only root, no escalation, unprivileged")


def check_scaling(objs, err):
    deployments = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    scalers = Counter()
    for o in objs:
        if o["kind"] == "HorizontalPodAutoscaler":
            scalers[o["spec"]["scaleTargetRef"]["name"]] += 1
            if o["spec"].get("minReplicas", 1) < 2:
                err(f"HPA/{o['metadata']['name']}: minReplicas below 2")
        if o["kind"] == "ScaledObject":
            scalers[o["spec"]["scaleTargetRef"]["name"]] += 1
            if o["spec"].get("minReplicaCount", 0) < 2:
                err(f"ScaledObject/{o['metadata']['name']}: minReplicaCount below 2")
    for target, n in scalers.items():
        if n > 1:
            err(f"Deployment/{target}: under {n} autoscalers")
        if target not in deployments:
            err(f"autoscaler targets a missing Deployment {target}")
    for name in AUTOSCALED - set(scalers):
        err(f"Deployment/{name}: no autoscaler")
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for name, d in deployments.items():
        if name not in scalers and d["spec"].get("replicas", 1) < 2:
            continue
        labels = d["spec"]["template"]["metadata"].get("labels", {})
        covering = [p for p in pdbs if p["spec"]["selector"].get("matchLabels", {}).items() <= labels.items()]
        if not any(str(p["spec"].get("maxUnavailable", "0")) not in ("0", "0%") for p in covering):
            err(f"Deployment/{name}: scaled, but no PodDisruptionBudget with maxUnavailable >= 1")


def check_topology(objs, err):
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for svc in SERVICES:
        if ("Deployment", f"herald-{svc}") not in kinds:
            err(f"missing Deployment herald-{svc}")
    for svc in ("herald-gateway", "herald-ingest"):
        if ("Service", svc) not in kinds:
            err(f"missing Service {svc}")
    for cm in (o for o in objs if o["kind"] == "ConfigMap"):
        for var in ("HERALD_NATS_URL", "HERALD_REDIS_URL"):
            host = urlparse(cm.get("data", {}).get(var, "")).hostname
            if host and ("Service", host.split(".")[0]) not in kinds:
                err(f"ConfigMap/{cm['metadata']['name']}: {var} names no Service of this render ({host})")


def pod_spec(obj):
    return obj.get("spec", {}).get("template", {}).get("spec", {})


def main(paths):
    version = kubernetes_validate.latest_version()
    failures = 0
    for path in paths:
        errors = []
        objs = [o for o in yaml.safe_load_all(open(path)) if o]
        for o in objs:
            validate_schema(o, version, errors.append)
        check_secrets(objs, errors.append)
        for d in (o for o in objs if o["kind"] == "Deployment"):
            check_deployment(d, errors.append)
        check_scaling(objs, errors.append)
        check_topology(objs, errors.append)
        crds = sum(o["apiVersion"].startswith("keda.sh/") for o in objs)
        print(f"{os.path.basename(path)}: {len(objs)} objects, {'OK' if not errors else 'FAILED'} "
              f"(Kubernetes {version} strict; {crds} KEDA ScaledObject(s) by their own schema; contract)")
        for e in errors:
            print(f"  {e}")
        failures += len(errors)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
