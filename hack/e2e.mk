# E2E targets (docs/e2e.md). Included by the root Makefile.
#
#   make e2e-build         build the control-plane binaries (cached outside the clone)
#   make e2e               run the e2e tests against a real apiserver + Argo controller
#   make dev-cluster       start the same stack in the background, print `export KUBECONFIG=...`
#   make dev-cluster-down  stop it

E2E_TIMEOUT ?= 45m
E2E_TESTFLAGS ?= -v
DEV_CLUSTER_DIR ?= $(or $(TMPDIR),/tmp)/kfp-argo-dev-cluster-$(shell id -u)

.PHONY: e2e-build e2e dev-cluster dev-cluster-down

e2e-build:
	@GO=$(GO) hack/e2e/build.sh >/dev/null

# -p 1: each test package starts its own cluster; one at a time keeps the
# machine's memory and both cores for the cluster under test.
e2e: e2e-build
	KFP_ARGO_E2E_BIN=$$(GO=$(GO) hack/e2e/build.sh) $(GO) test -tags e2e -p 1 -count=1 -timeout $(E2E_TIMEOUT) $(E2E_TESTFLAGS) ./test/e2e/...

dev-cluster: e2e-build
	@mkdir -p $(DEV_CLUSTER_DIR)
	$(GO) build -o $(DEV_CLUSTER_DIR)/devcluster ./test/e2e/cmd/devcluster
	@KFP_ARGO_E2E_BIN=$$(GO=$(GO) hack/e2e/build.sh) $(DEV_CLUSTER_DIR)/devcluster up -state $(DEV_CLUSTER_DIR)

dev-cluster-down:
	@if [ -x $(DEV_CLUSTER_DIR)/devcluster ]; then $(DEV_CLUSTER_DIR)/devcluster down -state $(DEV_CLUSTER_DIR); \
	else echo "no dev cluster in $(DEV_CLUSTER_DIR)"; fi
