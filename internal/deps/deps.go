// Package deps pins the third-party modules the project builds on, so that parallel work on
// separate packages never has to edit go.mod. It is imported by nothing and links into no binary.
package deps

import (
	_ "cel.dev/cel-go/cel"
	_ "cloud.google.com/go/compute/apiv1"
	_ "cloud.google.com/go/iam/credentials/apiv1"
	_ "cloud.google.com/go/pubsub/v2"
	_ "cloud.google.com/go/pubsub/v2/pstest"
	_ "cloud.google.com/go/storage"
	_ "cloud.google.com/go/workflows/executions/apiv1"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "github.com/cloudevents/sdk-go/v2"
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/flatbuffers/go"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/googleapis/google-cloudevents-go/cloud/storagedata"
	_ "github.com/hashicorp/hcl/v2/hclparse"
	_ "golang.org/x/oauth2/google/externalaccount"
	_ "google.golang.org/api/iam/v1"
	_ "gopkg.in/yaml.v3"
)
