// Command packer-plugin-bakeecho is a small multi-component Packer plugin
// built with packer-plugin-sdk, for provisioners/packer's tests: its
// default provisioner writes a message on the machine, uploads a
// directory and downloads a file back; "fail" runs a command that exits
// with a given code.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/plugin"
	"github.com/zclconf/go-cty/cty"
)

func main() {
	set := plugin.NewSet()
	set.RegisterProvisioner(plugin.DEFAULT_NAME, &echo{})
	set.RegisterProvisioner("fail", &fail{})
	if err := set.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// config returns the cty object among Prepare's raws (Packer passes its
// build settings as a map first).
func config(raws []interface{}) (cty.Value, error) {
	for _, r := range raws {
		if v, ok := r.(cty.Value); ok {
			return v, nil
		}
	}
	return cty.NilVal, fmt.Errorf("no HCL2 config given")
}

type echo struct {
	message, uploadDir, downloadFile, buildName string
}

func (p *echo) ConfigSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"message":       &hcldec.AttrSpec{Name: "message", Type: cty.String, Required: true},
		"upload_dir":    &hcldec.AttrSpec{Name: "upload_dir", Type: cty.String},
		"download_file": &hcldec.AttrSpec{Name: "download_file", Type: cty.String},
	}
}

func (p *echo) Prepare(raws ...interface{}) error {
	v, err := config(raws)
	if err != nil {
		return err
	}
	for _, r := range raws {
		// Over RPC the build settings arrive as a map of some key type.
		if m := reflect.ValueOf(r); m.Kind() == reflect.Map {
			if n := m.MapIndex(reflect.ValueOf("packer_build_name")); n.IsValid() {
				p.buildName = fmt.Sprint(n.Interface())
			}
		}
	}
	p.message = v.GetAttr("message").AsString()
	if p.message == "forbidden" {
		return fmt.Errorf("message must not be %q", p.message)
	}
	if u := v.GetAttr("upload_dir"); !u.IsNull() {
		p.uploadDir = u.AsString()
	}
	if d := v.GetAttr("download_file"); !d.IsNull() {
		p.downloadFile = d.AsString()
	}
	return nil
}

func (p *echo) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, _ map[string]interface{}) error {
	ui.Say("bakeecho says " + p.message)
	cmd := &packersdk.RemoteCmd{Command: fmt.Sprintf("echo '%s from %s' | tee /bakeecho", p.message, p.buildName)}
	if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
		return err
	}
	if cmd.ExitStatus() != 0 {
		return fmt.Errorf("echo exited %d", cmd.ExitStatus())
	}
	if p.uploadDir != "" {
		if err := comm.UploadDir("/opt", p.uploadDir, nil); err != nil {
			return fmt.Errorf("upload %s: %w", p.uploadDir, err)
		}
	}
	if p.downloadFile != "" {
		f, err := os.Create(filepath.Clean(p.downloadFile))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := comm.Download("/bakeecho", f); err != nil {
			return fmt.Errorf("download /bakeecho: %w", err)
		}
	}
	return nil
}

type fail struct{ code int }

func (p *fail) ConfigSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{"code": &hcldec.AttrSpec{Name: "code", Type: cty.Number, Required: true}}
}

func (p *fail) Prepare(raws ...interface{}) error {
	v, err := config(raws)
	if err != nil {
		return err
	}
	c, _ := v.GetAttr("code").AsBigFloat().Int64()
	p.code = int(c)
	return nil
}

func (p *fail) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, _ map[string]interface{}) error {
	cmd := &packersdk.RemoteCmd{Command: fmt.Sprintf("echo failing on purpose; exit %d", p.code)}
	if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
		return err
	}
	return fmt.Errorf("bakeecho-fail: the command exited %d", cmd.ExitStatus())
}
