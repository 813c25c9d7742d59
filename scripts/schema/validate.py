"""Validates YAML files against a JSON Schema with a real validator (the `jsonschema` package).

    python3 scripts/schema/validate.py SCHEMA.json FILE...

Prints `ok FILE` or `invalid FILE: PATH: MESSAGE` (each error) per file; exit status 0 when every
file is valid, 1 otherwise, 2 on bad usage. YAML is read as YAML 1.2 reads it, as editors do: only
`true`/`false` are booleans (PyYAML's YAML 1.1 would read the key `on` as `True`).
"""
import json
import re
import sys

import jsonschema
import yaml


class Yaml12Loader(yaml.SafeLoader):
    pass


# Keep every implicit resolver but YAML 1.1's booleans, then add YAML 1.2's.
Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    status = 0
    for path in argv[2:]:
        with open(path) as f:
            document = yaml.load(f, Loader=Yaml12Loader)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if not errors:
            print(f"ok {path}")
            continue
        status = 1
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path)
            print(f"invalid {path}: {where}: {e.message}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
