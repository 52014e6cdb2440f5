// Command bake-seed-images makes, for every Docker bake under DIR, an
// image on the engine that bake rebuild --nightly takes for the bake's
// newest artifact: tagged REPOSITORY:VERSION, with the bake's labels (its
// fingerprint among them). It writes one docker-load archive of configs
// over one tiny shared layer and loads it, so that bench/plan.sh can have
// a thousand unchanged bakes in seconds instead of a thousand commits.
//
//	bake-seed-images -version seed DIR
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/docker/docker/client"
	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/bake/rebuild"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	"github.com/bakehq/bake/provisioners/shell"
)

func main() {
	version := flag.String("version", "seed", "the version the images are tagged with")
	took := flag.Int("took", 30, "the dev.bake.took of each image, in seconds")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bake-seed-images [-version V] DIR")
		os.Exit(2)
	}
	if err := run(context.Background(), flag.Arg(0), *version, *took); err != nil {
		fmt.Fprintln(os.Stderr, "bake-seed-images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, version string, took int) error {
	dirs, err := rebuild.Find(root)
	if err != nil {
		return err
	}
	pl := bake.Plugins{
		Builders:     map[string]func(bake.DecodeContext) (bake.Builder, hcl.Diagnostics){"docker": dockerbuilder.New},
		Provisioners: map[string]func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics){"shell": shell.New},
	}
	now := time.Now().UTC().Add(-time.Hour)
	cs := rebuild.Load(ctx, root, dirs, rebuild.LoadOptions{Plugins: pl, Version: version, BuildTime: now, RunUUID: "seed"})
	rebuild.Each(ctx, cs, 4, rebuild.Resolve)

	layer := tarOf(map[string]string{"seed": "bake bench\n"})
	layerSum := sha256.Sum256(layer)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add("layer/layer.tar", layer); err != nil {
		return err
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []entry
	for _, c := range cs {
		if c.Err != nil {
			return c.Err
		}
		db, ok := c.Job.Builder.(*dockerbuilder.Builder)
		if !ok || db.Config().Repository == "" {
			return fmt.Errorf("%s: not a docker source with a repository", c.Bake)
		}
		cfg, err := json.Marshal(map[string]any{
			"architecture": "amd64", "os": "linux", "created": now.Format(time.RFC3339),
			"config": map[string]any{"Labels": map[string]string{
				bake.LabelVersion: version, bake.LabelCreated: now.Format(time.RFC3339), bake.LabelFingerprint: c.Fingerprint,
				bake.LabelName: c.Job.Name, bake.LabelBaseName: c.Base.Name, bake.LabelBaseDigest: c.Base.Digest,
				bake.LabelParent: c.Base.Digest, bake.LabelTook: strconv.Itoa(took),
			}},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])}},
		})
		if err != nil {
			return err
		}
		sum := sha256.Sum256(cfg)
		name := hex.EncodeToString(sum[:]) + ".json"
		if err := add(name, cfg); err != nil {
			return err
		}
		manifest = append(manifest, entry{Config: name, RepoTags: []string{db.Config().Repository + ":" + version}, Layers: []string{"layer/layer.tar"}})
	}
	m, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := add("manifest.json", m); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	resp, err := api.ImageLoad(ctx, &buf)
	if err != nil {
		return fmt.Errorf("docker load: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	fmt.Printf("%d images tagged %s\n", len(manifest), version)
	return nil
}

func tarOf(files map[string]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for n, s := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(s))})
		tw.Write([]byte(s))
	}
	tw.Close()
	return b.Bytes()
}
