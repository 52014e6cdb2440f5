// Package roll moves an Auto Scaling group service onto a freshly baked
// image by replacing its servers, never patching them (phoenix servers).
//
// A service is defined in a .roll.hcl file (service.go): its launch
// template, capacity, health gates and traffic layer — an ALB listener
// forwarding to two target groups, Route53 weighted records over one
// load balancer per colour, or a single target group the colours' groups
// are attached to in turn (targetgroup.go: attach green, wait until it is
// healthy there, detach blue). Each colour is a slot; the serving group
// (blue) is in one, the new group (green) is created in the other.
//
// Strategies (roll.go, canary.go, rolling.go):
//   - bluegreen: green is created at blue's capacity, must be healthy for
//     N consecutive checks, then traffic moves in one call (traffic.go),
//     green is watched for a post-promotion window, blue is kept at full
//     size for scale_down_delay so rollback stays instant, then deleted.
//   - canary and route53: the same, with green's weight raised in steps,
//     each held (route53: plus the record's TTL), with an analysis that
//     compares green's probes with blue's between canary steps.
//   - rolling: the serving group's instances are replaced in batches,
//     surging so the healthy count never drops.
//
// The switch is guarded: skipped with a logged reason unless green is
// fully healthy right then; any failed check after it points traffic
// back at blue and deletes green. A roll's state lives on AWS (state.go):
// SSM parameters /roll/SERVICE/{state,lock,control,history} and tags on
// the groups, so re-running a killed roll resumes it (or undoes it when it
// was to another image), a lock refuses a second concurrent roll, and
// only groups tagged roll:created-by=roll are ever deleted.
package roll
