#!/usr/bin/env bash
# Print a Terraform CLI config that installs the AWS provider from a filesystem mirror
# (TF_PLUGIN_MIRROR, default /opt/tf-plugins) when one exists, else from the registry.
mirror="${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
if [ -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
cat <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
RC
else
  echo "# no mirror at $mirror: providers come from the public registry"
fi
