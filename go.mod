module github.com/zaqar-go/suite

go 1.26

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/google/uuid v1.6.0
	github.com/gophercloud/gophercloud/v2 v2.15.0
	go.etcd.io/bbolt v1.4.3
	gopkg.in/ini.v1 v1.67.3
)

require golang.org/x/sys v0.47.0 // indirect
