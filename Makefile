# The front door. `make run` is the local end-to-end demo; `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
# Test timeout for the whole suite; CI must finish well inside 20 minutes on 2 cores.
TEST_TIMEOUT ?= 15m

.PHONY: run test deps bench lint image deploy destroy fmt

run:
	$(GO) run ./cmd/cspipe demo

deps:
	bash scripts/deps.sh

test: deps
	bash scripts/test.sh

bench: deps
	bash scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

image:
	$(GO) run ./cmd/cspipe image build $(if $(REGISTRY),--push $(REGISTRY),)

deploy:
	PRIMUS_PROJECT_ID=$(PRIMUS_PROJECT_ID) SECUNDUS_PROJECT_ID=$(SECUNDUS_PROJECT_ID) bash infra/deploy.sh apply

destroy:
	PRIMUS_PROJECT_ID=$(PRIMUS_PROJECT_ID) SECUNDUS_PROJECT_ID=$(SECUNDUS_PROJECT_ID) bash infra/deploy.sh destroy
