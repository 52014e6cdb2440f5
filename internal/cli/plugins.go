package cli

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/bakehq/bake/bake"
	"github.com/bakehq/bake/builders/amazon"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	dsamazon "github.com/bakehq/bake/datasources/amazon"
	"github.com/bakehq/bake/datasources/gitcommit"
	dshttp "github.com/bakehq/bake/datasources/http"
	"github.com/bakehq/bake/datasources/null"
	"github.com/bakehq/bake/postprocessors/checksum"
	dockerpp "github.com/bakehq/bake/postprocessors/docker"
	"github.com/bakehq/bake/postprocessors/manifest"
	shelllocalpp "github.com/bakehq/bake/postprocessors/shelllocal"
	"github.com/bakehq/bake/provisioners/file"
	"github.com/bakehq/bake/provisioners/packer"
	"github.com/bakehq/bake/provisioners/recipe"
	"github.com/bakehq/bake/provisioners/shell"
	"github.com/bakehq/bake/provisioners/shelllocal"
)

// plugins are the block types bake files can use; provisioner types bake
// lacks come from the Packer plugins installed (provisioners/packer).
func plugins() bake.Plugins {
	search := packer.DefaultSearch()
	return bake.Plugins{
		DataSources: map[string]func(bake.DecodeContext) (bake.DataSource, hcl.Diagnostics){
			dsamazon.AMIType:            dsamazon.NewAMI,
			dsamazon.ParameterStoreType: dsamazon.NewParameterStore,
			dsamazon.SecretsManagerType: dsamazon.NewSecretsManager,
			dshttp.Type:                 dshttp.New,
			gitcommit.Type:              gitcommit.New,
			null.Type:                   null.New,
		},
		Builders: map[string]func(bake.DecodeContext) (bake.Builder, hcl.Diagnostics){
			"docker":    dockerbuilder.New,
			amazon.Type: amazon.New,
		},
		Provisioners: packer.Add(context.Background(), map[string]func(bake.DecodeContext) (bake.Provisioner, hcl.Diagnostics){
			"shell":       shell.New,
			"recipe":      recipe.New,
			"file":        file.New,
			"shell-local": shelllocal.NewProvisioner,
		}, search),
		ProvisionerSearch: search.String(),
		PostProcessors: map[string]func(bake.DecodeContext) (bake.PostProcessor, hcl.Diagnostics){
			"docker-tag":    dockerpp.NewTag,
			"docker-push":   dockerpp.NewPush,
			"manifest":      manifest.New,
			"checksum":      checksum.New,
			"docker-import": dockerpp.NewImport,
			"docker-save":   dockerpp.NewSave,
			"shell-local":   shelllocalpp.New,
		},
	}
}
