#!/usr/bin/python3
"""Checks responses captured from bake sim against the AWS API models
shipped with Debian's python3-botocore, with botocore's own parsers.

Input: a JSON-lines file, one captured call per line:
  {"service": "ec2", "operation": "DescribeImages", "status": 200,
   "headers": {...}, "body": "<base64>"}

For each call it (1) parses the response with botocore's parser for the
service's protocol, as the AWS CLI would, failing on a parse error; (2) for
a success, walks the raw body against the operation's output shape and
reports every element or key the model does not define (a wrong name would
otherwise be silently dropped by the lenient parsers), and every member
whose text does not parse as its shape's type; (3) for an error, checks that
botocore finds an error code. Exit status 1 when any call fails.
"""
import base64
import json
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import botocore  # noqa: E402
import botocore.loaders  # noqa: E402
import botocore.model  # noqa: E402
import botocore.parsers  # noqa: E402

_models = {}


def model(service):
    if service not in _models:
        loader = botocore.loaders.Loader()
        _models[service] = botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service)
    return _models[service]


def local(tag):
    return tag.split("}", 1)[-1]


def check_scalar(shape, text, path, problems):
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            int(text)
        elif t in ("float", "double"):
            float(text)
        elif t == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
        elif t == "timestamp":
            botocore.parsers.DEFAULT_TIMESTAMP_PARSER(text)
        elif t == "string" and shape.enum and text not in shape.enum:
            problems.append("%s: %r is not one of the enum values" % (path, text))
    except Exception as e:  # noqa: BLE001 - any parse failure is the finding
        problems.append("%s: %r is not a %s (%s)" % (path, text, t, e))


def walk_xml(shape, el, path, problems, ec2):
    t = shape.type_name
    if t == "structure":
        names = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") in ("header", "headers", "statusCode"):
                continue
            xml_name = member.serialization.get("name", name)
            names[xml_name] = member
            if member.type_name == "list" and member.serialization.get("flattened"):
                names[member.member.serialization.get("name", xml_name)] = member
        for child in el:
            n = local(child.tag)
            if n not in names:
                problems.append("%s: element <%s> is not in the model" % (path, n))
                continue
            m = names[n]
            if m.type_name == "list" and m.serialization.get("flattened"):
                walk_xml(m.member, child, path + "/" + n, problems, ec2)
            else:
                walk_xml(m, child, path + "/" + n, problems, ec2)
    elif t == "list":
        item = shape.member.serialization.get("name", "member")
        for child in el:
            if local(child.tag) != item:
                problems.append("%s: list item <%s>, want <%s>" % (path, local(child.tag), item))
                continue
            walk_xml(shape.member, child, path + "/" + item, problems, ec2)
    elif t == "map":
        for entry in el:
            for kv in entry:
                n = local(kv.tag)
                if n == shape.key.serialization.get("name", "key"):
                    walk_xml(shape.key, kv, path + "/key", problems, ec2)
                elif n == shape.value.serialization.get("name", "value"):
                    walk_xml(shape.value, kv, path + "/value", problems, ec2)
                else:
                    problems.append("%s: map element <%s>" % (path, n))
    else:
        if len(el):
            problems.append("%s: a %s has child elements" % (path, t))
        check_scalar(shape, el.text or "", path, problems)


def walk_json(shape, v, path, problems):
    t = shape.type_name
    if t == "structure":
        if not isinstance(v, dict):
            problems.append("%s: want an object" % path)
            return
        for k, x in v.items():
            if k not in shape.members:
                problems.append("%s: key %r is not in the model" % (path, k))
                continue
            walk_json(shape.members[k], x, path + "." + k, problems)
    elif t == "list":
        if not isinstance(v, list):
            problems.append("%s: want an array" % path)
            return
        for i, x in enumerate(v):
            walk_json(shape.member, x, "%s[%d]" % (path, i), problems)
    elif t == "map":
        for k, x in v.items():
            walk_json(shape.value, x, path + "." + k, problems)
    elif t == "timestamp":
        if not isinstance(v, (int, float)):
            problems.append("%s: a timestamp must be epoch seconds, got %r" % (path, v))
    elif t in ("integer", "long", "float", "double"):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            problems.append("%s: want a number, got %r" % (path, v))
    elif t == "boolean":
        if not isinstance(v, bool):
            problems.append("%s: want a boolean, got %r" % (path, v))
    elif t == "string":
        if not isinstance(v, str):
            problems.append("%s: want a string, got %r" % (path, v))


def check(call):
    svc = model(call["service"])
    op = svc.operation_model(call["operation"])
    body = base64.b64decode(call["body"])
    headers = {k.lower(): v for k, v in call["headers"].items()}
    resp = {"status_code": call["status"], "headers": headers, "body": body}
    parser = botocore.parsers.create_parser(svc.protocol)
    parsed = parser.parse(resp, op.output_shape)
    problems = []
    if call["status"] >= 300:
        code = parsed.get("Error", {}).get("Code")
        if not code:
            problems.append("error response without a code botocore can read: %r" % body[:300])
        elif call.get("want_code") and code != call["want_code"]:
            problems.append("error code %s, want %s" % (code, call["want_code"]))
        return problems
    if "Error" in parsed and parsed["Error"].get("Code"):
        problems.append("success status with an error body: %r" % parsed["Error"])
    shape = op.output_shape
    if shape is None:
        return problems
    if svc.protocol in ("ec2", "query", "rest-xml"):
        root = ET.fromstring(body) if body.strip() else None
        if root is None:
            return problems
        el = root
        if svc.protocol == "query":
            wrapper = op.output_shape.serialization.get("resultWrapper") or call["operation"] + "Result"
            el = root.find("{*}" + wrapper)
            if el is None:
                problems.append("no <%s> in the response" % wrapper)
                return problems
            for child in root:
                if local(child.tag) not in (wrapper, "ResponseMetadata"):
                    problems.append("unexpected <%s> in the response" % local(child.tag))
        if svc.protocol == "ec2":
            el = [c for c in root if local(c.tag) != "requestId"]
            wrapped = ET.Element("x")
            wrapped.extend(el)
            el = wrapped
        walk_xml(shape, el, call["operation"], problems, svc.protocol == "ec2")
    elif svc.protocol == "json":
        walk_json(shape, json.loads(body or b"{}"), call["operation"], problems)
    return problems


def main():
    failed = 0
    total = 0
    for line in open(sys.argv[1]):
        if not line.strip():
            continue
        call = json.loads(line)
        total += 1
        try:
            problems = check(call)
        except Exception as e:  # noqa: BLE001 - a parser exception is the finding
            problems = ["botocore cannot parse it: %s: %s" % (type(e).__name__, e)]
        if problems:
            failed += 1
            print("%s:%s (HTTP %d):" % (call["service"], call["operation"], call["status"]))
            for p in problems[:20]:
                print("  " + p)
    print("checked %d responses against botocore %s models, %d failed" % (total, botocore.__version__, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
