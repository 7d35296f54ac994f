#!/usr/bin/python3
# Validates Kubernetes objects offline against the schema that Debian's
# python3-kubernetes carries in its model classes: each class's openapi_types
# and attribute_map give the fields of a kind and their types, and its setters
# reject None for the fields the API requires. Every field must be known,
# scalars must have their declared type, nested objects are checked the same
# way and required fields must be present. The PodMonitor is not part of the
# client, so it gets the schema below. Prints one line per object; exits 1
# when one does not validate.
#
#   k8s_schema.py MANIFEST.yaml...
#
# /usr/bin/python3, not the first python3 on PATH: python3-kubernetes installs
# the client for Debian's interpreter only.
import datetime
import re
import sys

import yaml
from kubernetes import client

# The Prometheus operator's PodMonitor (monitoring.coreos.com/v1), restricted
# to the fields deploy/kubernetes uses: a field the manifests start to use has
# to be added here, from the operator's CRD. Each type maps a field's JSON
# name to its type (in the client's notation, so client models can be named)
# and whether the CRD requires it.
CUSTOM = {
    "monitoring.coreos.com/v1 PodMonitor": {
        "apiVersion": ("str", True),
        "kind": ("str", True),
        "metadata": ("V1ObjectMeta", False),
        "spec": ("PodMonitorSpec", True),
    },
    "PodMonitorSpec": {
        "selector": ("V1LabelSelector", True),
        "podMetricsEndpoints": ("list[PodMetricsEndpoint]", False),
    },
    "PodMetricsEndpoint": {
        "port": ("str", False),
        "path": ("str", False),
        "interval": ("str", False),
        "relabelings": ("list[RelabelConfig]", False),
    },
    "RelabelConfig": {
        "sourceLabels": ("list[str]", False),
        "targetLabel": ("str", False),
    },
}

# The API's int-or-string fields, which the client declares as plain object.
INT_OR_STRING = {"port", "target_port", "max_surge", "max_unavailable", "min_available"}

# One shared configuration with client-side validation on, so that the setters
# check what the API requires.
CONFIG = client.Configuration()
CONFIG.client_side_validation = True

SCALARS = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    # YAML reads an unquoted timestamp as a datetime; JSON would send it as a string.
    "datetime": (str, datetime.datetime, datetime.date),
}


def snake(name):
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def fields(type_name):
    """{JSON name: (type, attribute)} of a model, and a check of an object
    against the model's required fields, which returns the problems."""
    if type_name in CUSTOM:
        schema = CUSTOM[type_name]
        return ({key: (t, key) for key, (t, _) in schema.items()},
                lambda obj: [f"{key}: required field of {type_name} is missing"
                             for key, (_, req) in schema.items() if req and obj.get(key) is None])
    cls = getattr(client, type_name)

    def setters(obj):
        # The client's own check: a bare instance whose setters are given each
        # field's value, None when absent; the API's required fields (and the
        # few patterns the client knows) raise ValueError.
        model = cls.__new__(cls)
        model.local_vars_configuration = CONFIG
        problems = []
        for attr, key in cls.attribute_map.items():
            try:
                setattr(model, attr, obj.get(key))
            except ValueError as e:
                what = f"required field of {type_name} is missing" if obj.get(key) is None else "invalid"
                problems.append(f"{key}: {what} ({e})")
        return problems
    return {key: (cls.openapi_types[attr], attr) for attr, key in cls.attribute_map.items()}, setters


def check(value, type_name, path, attr, problems):
    if value is None:  # an explicit null is an absent field, for the setters to judge
        return
    if m := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(value, list):
            problems.append(f"{path}: must be a list, not {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, m[1], f"{path}[{i}]", attr, problems)
    elif m := re.fullmatch(r"dict\(str, (.+)\)", type_name):
        if not isinstance(value, dict):
            problems.append(f"{path}: must be a map, not {type(value).__name__}")
            return
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(f"{path}: key {key!r} must be a string")
            check(item, m[1], f"{path}.{key}", attr, problems)
    elif type_name == "object":
        if attr in INT_OR_STRING and (isinstance(value, bool) or not isinstance(value, (int, str))):
            problems.append(f"{path}: must be an integer or a string, not {type(value).__name__}")
    elif type_name in SCALARS:
        # bool is an int in Python, never in the API.
        if not isinstance(value, SCALARS[type_name]) or (isinstance(value, bool) and type_name != "bool"):
            problems.append(f"{path}: must be {type_name}, not {type(value).__name__} ({value!r})")
    else:
        check_model(value, type_name, path, problems)


def check_model(value, type_name, path, problems):
    if not isinstance(value, dict):
        problems.append(f"{path}: must be an object ({type_name}), not {type(value).__name__}")
        return
    known, setters = fields(type_name)
    for key, item in value.items():
        if key not in known:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
        else:
            check(item, known[key][0], f"{path}.{key}", known[key][1], problems)
    problems.extend(f"{path}.{p}" for p in setters(value))


def model_of(api_version, kind):
    """The model of a kind the API serves at apiVersion, or None."""
    if f"{api_version} {kind}" in CUSTOM:
        return f"{api_version} {kind}"
    group, _, version = api_version.rpartition("/")
    # apps/v1 -> AppsV1Api; the core group ("v1") -> CoreV1Api.
    prefix = "".join(p.capitalize() for p in (group.removesuffix(".k8s.io") or "core").split("."))
    api = getattr(client, f"{prefix}{version.capitalize()}Api", None)
    name = f"{version.capitalize()}{kind}"
    # The group must serve the kind, not only have a class of that name.
    if api is None or not hasattr(client, name) or not (
            hasattr(api, f"read_namespaced_{snake(kind)}") or hasattr(api, f"read_{snake(kind)}")):
        return None
    return name


def main(files):
    failed = 0
    for f in files:
        with open(f) as stream:
            docs = [d for d in yaml.safe_load_all(stream) if d is not None]
        for d in docs:
            if not isinstance(d, dict):
                print(f"FAIL {f}: a document that is not an object")
                failed += 1
                continue
            name = f"{d.get('apiVersion')} {d.get('kind')} {(d.get('metadata') or {}).get('name')}"
            model = model_of(str(d.get("apiVersion")), str(d.get("kind")))
            problems = []
            if model is None:
                problems.append("no schema for this apiVersion and kind")
            else:
                check_model(d, model, d.get("kind"), problems)
            failed += bool(problems)
            print(f"{'FAIL' if problems else 'ok  '} {name}")
            for p in problems:
                print(f"       {p}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
