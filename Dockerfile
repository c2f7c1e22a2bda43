# One image for the project's processes: worker, webhook, starter and the Antom simulator.
# docker-compose.yml picks the command per service.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./webhook ./starter ./simulator \
 && mkdir -p /out/keys

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/webhook /out/starter /out/simulator /usr/local/bin/
# The simulator's dev keys live here (a volume in docker-compose.yml), writable by the nonroot user.
COPY --from=build --chown=65532:65532 /out/keys /keys
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/worker"]
