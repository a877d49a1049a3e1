"""Reads a running app's OpenAPI document as JSON and as YAML and checks both against the
OpenAPI 3.1 schema (openapi-spec-validator). Prints the JSON document on success; exits 1
with the reason otherwise. Used by tests/tests/openapi.rs.

Usage: check_openapi.py BASE_URL   (e.g. http://127.0.0.1:7071/api)
"""

import json
import sys
import urllib.request

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.headers.get("Content-Type", ""), response.read().decode("utf-8")


def main():
    base = sys.argv[1].rstrip("/")
    json_type, json_text = fetch(f"{base}/openapi.json")
    yaml_type, yaml_text = fetch(f"{base}/openapi.yaml")
    if not json_type.startswith("application/json"):
        sys.exit(f"openapi.json is served as {json_type!r}")
    if not yaml_type.startswith("application/yaml"):
        sys.exit(f"openapi.yaml is served as {yaml_type!r}")
    from_json = json.loads(json_text)
    from_yaml = yaml.safe_load(yaml_text)
    for name, document in (("openapi.json", from_json), ("openapi.yaml", from_yaml)):
        try:
            validate(document)
        except OpenAPIValidationError as error:
            sys.exit(f"{name} is not a valid OpenAPI document: {error}")
    if from_json != from_yaml:
        sys.exit("openapi.yaml does not say what openapi.json says")
    print(json.dumps(from_json))


if __name__ == "__main__":
    main()
