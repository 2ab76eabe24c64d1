# E2E targets (docs/e2e.md). Included by the root Makefile.
#
#   make e2e-build         build the control-plane and node binaries and the node's images (cached outside the clone)
#   make e2e               run the e2e tests: kwok-simulated pods, and real pods for the smoke test and a named corpus subset;
#                          then the Argo 4 lane (e2e-v4)
#   make e2e-full          the same with every corpus pipeline on real pods
#   make e2e-v4            the kwok-mode workflow tests, the corpus and the large pipeline on Argo v4.0.7's CRDs
#                          (CEL rules enforced) and workflow-controller
#   make dev-cluster       start the stack in the background (real pods; DEV_CLUSTER_PODS=fake for kwok), print `export KUBECONFIG=...`
#   make dev-cluster-down  stop it, and remove its containers, mounts and cgroups

E2E_TIMEOUT ?= 45m
E2E_TESTFLAGS ?= -v
DEV_CLUSTER_DIR ?= $(or $(TMPDIR),/tmp)/kfp-argo-dev-cluster-$(shell id -u)
DEV_CLUSTER_PODS ?= real

E2E_ENV = KFP_ARGO_E2E_BIN=$$(GO=$(GO) hack/e2e/build.sh) KFP_ARGO_E2E_IMAGES=$$(GO=$(GO) hack/e2e/images.sh)

.PHONY: e2e-build e2e e2e-full e2e-v4 dev-cluster dev-cluster-down

e2e-build:
	@GO=$(GO) hack/e2e/build.sh >/dev/null
	@GO=$(GO) hack/e2e/build.sh --argo4 >/dev/null
	@GO=$(GO) hack/e2e/images.sh >/dev/null

# -p 1: each test package starts its own cluster; one at a time keeps the
# machine's memory and both cores for the cluster under test.
# E2E_LARGE_TASKS_V3: TestLargePipeline's size on Argo 3 in make e2e. The 3,000-task run is the Argo 4 lane's
# (whose CEL limits bind); on Argo 3 it took 12-19 min of CI's 90 on a slow day (docs/e2e.md), so make e2e runs
# 1,000 tasks there and make e2e-full the 3,000.
E2E_LARGE_TASKS_V3 ?= 1000
e2e: e2e-build
	$(E2E_ENV) KFP_ARGO_E2E_LARGE_TASKS=$(E2E_LARGE_TASKS_V3) $(GO) test -tags e2e -p 1 -count=1 -timeout $(E2E_TIMEOUT) $(E2E_TESTFLAGS) ./test/e2e/...
	@$(MAKE) --no-print-directory e2e-v4

e2e-full: e2e-build
	$(E2E_ENV) KFP_ARGO_E2E_FULL=1 $(GO) test -tags e2e -p 1 -count=1 -timeout 90m $(E2E_TESTFLAGS) ./test/e2e/...

# The Argo 4 lane (docs/e2e.md): Argo v4.0.7's full CRDs and workflow-controller, simulated pods only (there is no
# argoexec v4 image), so no node images. E2E_V4_RUN names the tests of test/e2e that are about what Argo accepts and
# runs (workflows, CRD rules, the corpus, the large pipeline); the CLI, record, sync, UI and tutorial tests are about
# kfp-argo's own side and run on Argo 3 only.
E2E_V4_RUN ?= TestArgoCRDRules|TestArgoControllerVersion|TestDAG|TestFailureExitCode|TestRetry|TestServerDryRun|TestCorpusDryRun|TestPrintedCorpusServerDryRun|TestPrintedManifestWithoutMaxAgeRejected|TestCorpusRun|TestScenarios|TestLargePipeline
e2e-v4:
	@GO=$(GO) hack/e2e/build.sh >/dev/null
	@GO=$(GO) hack/e2e/build.sh --argo4 >/dev/null
	KFP_ARGO_E2E_ARGO=v4 KFP_ARGO_E2E_BIN=$$(GO=$(GO) hack/e2e/build.sh) KFP_ARGO_E2E_ARGO4_BIN=$$(GO=$(GO) hack/e2e/build.sh --argo4) \
		$(GO) test -tags e2e -p 1 -count=1 -timeout $(E2E_TIMEOUT) $(E2E_TESTFLAGS) -run '$(E2E_V4_RUN)' ./test/e2e/

dev-cluster: e2e-build
	@mkdir -p $(DEV_CLUSTER_DIR)
	$(GO) build -o $(DEV_CLUSTER_DIR)/devcluster ./test/e2e/cmd/devcluster
	@$(E2E_ENV) $(DEV_CLUSTER_DIR)/devcluster up -state $(DEV_CLUSTER_DIR) $(if $(filter fake,$(DEV_CLUSTER_PODS)),-fake-pods)

dev-cluster-down:
	@if [ -x $(DEV_CLUSTER_DIR)/devcluster ]; then $(DEV_CLUSTER_DIR)/devcluster down -state $(DEV_CLUSTER_DIR); \
	else echo "no dev cluster in $(DEV_CLUSTER_DIR)"; fi
