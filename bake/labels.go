package bake

// Label and tag keys bake records on what it makes. The OCI keys are the
// standard annotations; the dev.bake keys carry lineage and let cleanup
// find a run's leftovers.
const (
	LabelVersion    = "org.opencontainers.image.version"
	LabelCreated    = "org.opencontainers.image.created"
	LabelRevision   = "org.opencontainers.image.revision"
	LabelSource     = "org.opencontainers.image.source"
	LabelBaseName   = "org.opencontainers.image.base.name"
	LabelBaseDigest = "org.opencontainers.image.base.digest"

	LabelFingerprint = "dev.bake.fingerprint"
	LabelParent      = "dev.bake.parent"
	LabelName        = "dev.bake.name"
	// LabelTook is how many seconds the bake ran before its capture: what
	// bake plan balances shards by.
	LabelTook = "dev.bake.took"
	// LabelRun is on every container (and committed image) a run makes;
	// its value is the run's UUID.
	LabelRun = "dev.bake.run"
)
