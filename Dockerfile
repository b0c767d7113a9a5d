# Build the manager binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
# Stamped into the binary (kubectl isms version, the evidence ledger's start markers) and into
# the image's labels; `make docker-build` passes them from Git.
ARG VERSION=dev
ARG COMMIT=unknown

WORKDIR /workspace
# Download the modules first, in their own layer, so that it is cached across source changes.
COPY go.mod go.mod
COPY go.sum go.sum
RUN go mod download

# Copy the Go source (see .dockerignore: nothing else is in the build context).
COPY cmd/ cmd/
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
COPY policies/ policies/

# GOARCH is left without a default so that the binary is built for the platform of the image
# being built (TARGETARCH, set by BuildKit/buildx), or for the build host when it is unset.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -o manager \
    -ldflags="-s -w -X github.com/isms-operator/isms-operator/internal/version.version=${VERSION} -X github.com/isms-operator/isms-operator/internal/version.commit=${COMMIT}" \
    ./cmd/manager

# Use distroless as the minimal base image: no shell, no package manager, non-root user.
# Refer to https://github.com/GoogleContainerTools/distroless for more details.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE
# OCI image annotations (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
LABEL org.opencontainers.image.title="isms-operator" \
      org.opencontainers.image.description="Continuous control monitoring of an ISO/IEC 27001 ISMS on Kubernetes" \
      org.opencontainers.image.source="https://github.com/isms-operator/isms-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}"
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
