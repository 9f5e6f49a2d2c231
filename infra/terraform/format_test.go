package terraform_test

import "github.com/hashicorp/hcl/v2/hclwrite"

// hclFormat is the canonical layout `terraform fmt` writes (both use hclwrite's formatter).
func hclFormat(src []byte) []byte { return hclwrite.Format(src) }
