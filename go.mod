module github.com/jamsocket-go/jamsocket

go 1.26.0
