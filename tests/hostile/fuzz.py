#!/usr/bin/env python3
# A robustness check of hostile-blk itself (host only, no guest): random
# vhost-user messages, memory tables, rings and kicks over real file
# descriptors; the back-end must never die of a signal.
#   tests/hostile/fuzz.py BINARY [SEED] [RUNS]
# Prints "crashes N"; exits 1 if N > 0.
import array, os, random, shutil, socket, struct, subprocess, sys, tempfile, time
BIN = os.path.abspath(sys.argv[1])
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 40
work = tempfile.mkdtemp(prefix='hx-fuzz.', dir='/tmp')
os.chdir(work)
open('d.img', 'wb').truncate(1 << 20)
crashes = 0
for run in range(RUNS):
    if os.path.exists('s'): os.unlink('s')
    p = subprocess.Popen([BIN, '--socket', 's', '--disk', 'd.img', '--timeout', '20', '--queues', '2'], stderr=subprocess.DEVNULL)
    for i in range(50):
        if os.path.exists('s'): break
        time.sleep(0.02)
    c = socket.socket(socket.AF_UNIX); c.connect('s'); c.settimeout(0.2)
    memfd = os.memfd_create('m'); os.ftruncate(memfd, 1 << 20)
    efd = os.eventfd(0)
    for k in range(300):
        req = random.choice([1,2,3,5,8,9,10,11,12,13,14,15,16,17,18,21,24,25,99, random.randrange(0, 1<<32)])
        flags = random.choice([1, 1 | 8, random.randrange(0, 1<<32)])
        n = random.choice([0, 8, 12, 16, 40, 268, random.randrange(0, 300)])
        payload = bytes(random.randrange(256) for _ in range(n))
        if req == 5 and random.random() < 0.7:
            payload = struct.pack('<II', 1, 0) + struct.pack('<QQQQ', 0, 1 << 20, 0x7f0000000000, 0)
            n = len(payload)
        if req == 8: payload = struct.pack('<II', random.randrange(3), random.choice([128, 256, 3, 0, 1<<20])); n = 8
        if req == 9: payload = struct.pack('<IIQQQQ', random.randrange(3), 0, 0x7f0000000000 + random.randrange(0, 1<<20), 0x7f0000000000 + random.randrange(0, 1<<20), 0x7f0000000000 + random.randrange(0, 1<<20), 0); n = len(payload)
        hdr = struct.pack('<III', req, flags, random.choice([n, n, random.randrange(0, 5000)]))
        fds = []
        if req in (5,) : fds = [memfd]
        if req in (12, 13, 21) and random.random() < 0.8: fds = [efd]
        try:
            if fds: c.sendmsg([hdr + payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', fds))])
            else: c.sendall(hdr + payload)
        except OSError: break
        # scribble over guest memory and kick
        if random.random() < 0.3:
            os.pwrite(memfd, bytes(random.randrange(256) for _ in range(64)), random.randrange(0, (1<<20) - 64))
            os.eventfd_write(efd, 1)
        try: c.recv(4096)
        except OSError: pass
    c.close(); os.close(memfd); os.close(efd)
    rc = p.wait(timeout=25)
    if rc < 0 or rc not in (0, 2):
        crashes += 1; print('run', run, 'rc', rc)
print('crashes', crashes)
shutil.rmtree(work)
sys.exit(1 if crashes else 0)
