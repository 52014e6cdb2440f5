#!/usr/bin/python3
"""Trims the AWS API models shipped with Debian's python3-botocore to the
operations bake sim serves, so sim/core can embed them. The models drive the
wire codecs: query and EC2 parameter names, XML element names, list and map
wrappers, JSON keys, REST routes and timestamp formats all come from them.

Run from this directory with Debian's python: /usr/bin/python3 gen.py  (go generate ./sim/core)
"""
import json
import os

import botocore

DATA = os.path.join(os.path.dirname(botocore.__file__), "data")

OPS = {
    "ec2": """DescribeRegions DescribeAvailabilityZones DescribeVpcs DescribeSubnets DescribeImages
        RegisterImage CreateImage CopyImage DeregisterImage DescribeSnapshots DeleteSnapshot RunInstances
        DescribeInstances StartInstances StopInstances TerminateInstances RebootInstances GetConsoleOutput
        CreateTags DeleteTags DescribeTags CreateKeyPair ImportKeyPair DeleteKeyPair DescribeKeyPairs
        CreateSecurityGroup AuthorizeSecurityGroupIngress RevokeSecurityGroupIngress DeleteSecurityGroup
        DescribeSecurityGroups CreateLaunchTemplate CreateLaunchTemplateVersion DescribeLaunchTemplates
        DescribeLaunchTemplateVersions ModifyLaunchTemplate DeleteLaunchTemplate DescribeInstanceStatus
        EnableImageDeprecation ModifyImageAttribute DescribeImageAttribute ResetImageAttribute
        ModifySnapshotAttribute DescribeSnapshotAttribute ResetSnapshotAttribute DescribeVolumes DeleteVolume
        DescribeInstanceAttribute ModifyInstanceAttribute""",
    "autoscaling": """CreateAutoScalingGroup UpdateAutoScalingGroup DescribeAutoScalingGroups
        DeleteAutoScalingGroup SetDesiredCapacity AttachLoadBalancerTargetGroups
        DetachLoadBalancerTargetGroups DescribeLoadBalancerTargetGroups DescribeScalingActivities
        TerminateInstanceInAutoScalingGroup CreateOrUpdateTags DeleteTags DescribeTags
        DescribeAutoScalingInstances SetInstanceHealth AttachTrafficSources DetachTrafficSources""",
    "elbv2": """CreateLoadBalancer DescribeLoadBalancers DeleteLoadBalancer CreateTargetGroup
        DescribeTargetGroups ModifyTargetGroup DeleteTargetGroup CreateListener DescribeListeners
        ModifyListener DeleteListener RegisterTargets DeregisterTargets DescribeTargetHealth AddTags
        RemoveTags DescribeTags DescribeTargetGroupAttributes ModifyTargetGroupAttributes
        DescribeLoadBalancerAttributes ModifyLoadBalancerAttributes DescribeRules CreateRule ModifyRule
        DeleteRule""",
    "route53": """CreateHostedZone ListHostedZones ListHostedZonesByName GetHostedZone DeleteHostedZone
        ChangeResourceRecordSets ListResourceRecordSets GetChange""",
    "ssm": """PutParameter GetParameter GetParameters GetParametersByPath DeleteParameter DeleteParameters
        DescribeParameters GetParameterHistory""",
    "sts": "GetCallerIdentity",
    "secretsmanager": """GetSecretValue CreateSecret PutSecretValue DescribeSecret DeleteSecret ListSecrets""",
    "ecr": "GetAuthorizationToken",
}

DROP = {"documentation", "documentationUrl", "deprecated", "deprecatedMessage", "examples"}


def latest(service):
    d = os.path.join(DATA, service)
    return os.path.join(d, sorted(os.listdir(d))[-1], "service-2.json")


def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def main():
    for service, ops in OPS.items():
        path = latest(service)
        with open(path) as f:
            model = json.load(f)
        keep_ops = {}
        todo = []
        for name in ops.split():
            op = model["operations"][name]
            keep_ops[name] = clean(op)
            for key in ("input", "output"):
                if key in op:
                    todo.append(op[key]["shape"])
            todo += [e["shape"] for e in op.get("errors", [])]
        shapes = {}
        while todo:
            name = todo.pop()
            if name in shapes:
                continue
            shape = model["shapes"][name]
            shapes[name] = clean(shape)
            for m in shape.get("members", {}).values():
                todo.append(m["shape"])
            for key in ("member", "key", "value"):
                if key in shape:
                    todo.append(shape[key]["shape"])
        out = {"metadata": model["metadata"], "operations": keep_ops, "shapes": shapes,
               "source": os.path.relpath(path, DATA) + " from botocore " + botocore.__version__}
        with open(service + ".json", "w") as f:
            json.dump(out, f, sort_keys=True, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
