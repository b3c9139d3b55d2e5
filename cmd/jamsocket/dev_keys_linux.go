package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// startKeys puts the terminal in cbreak mode (keys arrive one by one,
// without echo; ctrl-c still sends SIGINT, and output is processed as
// usual) and calls key with every byte typed. restore puts the terminal
// back; call it before exiting. The reading goroutine ends with the
// process.
func startKeys(tty *os.File, key func(byte)) (restore func(), err error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	cbreak := *old
	cbreak.Lflag &^= unix.ICANON | unix.ECHO
	cbreak.Cc[unix.VMIN], cbreak.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &cbreak); err != nil {
		return nil, err
	}
	go func() {
		buf := make([]byte, 16)
		for {
			n, err := tty.Read(buf)
			for _, c := range buf[:n] {
				key(c)
			}
			if err != nil {
				return
			}
		}
	}()
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
