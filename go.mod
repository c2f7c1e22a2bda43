module github.com/capturekit/alipay-capture

go 1.26.0

require (
	github.com/Rhymond/go-money v1.0.15 // indirect
	github.com/go-resty/resty/v2 v2.17.2 // indirect
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	go.temporal.io/sdk v1.51.0 // indirect
	golang.org/x/net v0.58.0 // indirect
)
