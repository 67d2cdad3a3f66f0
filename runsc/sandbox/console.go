package sandbox

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// NewConsole makes the terminal of a container whose caller asked for
// one with a console socket (OCI process.terminal with runc's
// --console-socket): it opens a new host pseudo-terminal, sets its window
// size if rows and cols are non-zero, sends the master to the unix
// socket at socketPath (SCM_RIGHTS, as runc does) and returns the
// replica, to be the container's stdio. The caller closes it.
func NewConsole(socketPath string, rows, cols uint16) (*os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	defer master.Close()
	mfd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlocking the pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("getting the pseudo-terminal number: %w", err)
	}
	replicaPath := fmt.Sprintf("/dev/pts/%d", n)
	replica, err := os.OpenFile(replicaPath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", replicaPath, err)
	}
	if rows != 0 || cols != 0 {
		if err := unix.IoctlSetWinsize(int(replica.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			replica.Close()
			return nil, fmt.Errorf("setting the window size of %s: %w", replicaPath, err)
		}
	}
	if err := sendFD(socketPath, master, replicaPath); err != nil {
		replica.Close()
		return nil, fmt.Errorf("--console-socket %s: %w", socketPath, err)
	}
	return replica, nil
}

// sendFD connects to the unix stream socket at path and sends f over it,
// with name as the message body.
func sendFD(path string, f *os.File, name string) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, _, err = conn.WriteMsgUnix([]byte(name), unix.UnixRights(int(f.Fd())), nil)
	return err
}
