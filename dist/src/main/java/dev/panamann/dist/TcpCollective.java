package dev.panamann.dist;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A {@link Collective} over TCP: every pair of ranks shares one connection, and the data move
 * through NIO channels straight from and into the caller's off-heap segments (received partial
 * sums land in one reused off-heap scratch area first).
 *
 * <p>All-reduce algorithms (both are a reduce-scatter followed by an all-gather, so each rank
 * sends and receives about {@code 2 (W-1)/W} times the buffer):
 * <ul>
 *   <li>{@link Algorithm#RING}: {@code 2 (W-1)} steps between ring neighbours; the least data
 *       per link, the most steps. The default for up to {@value #RING_MAX_WORKERS} ranks.</li>
 *   <li>{@link Algorithm#HALVING_DOUBLING}: recursive halving, then recursive doubling:
 *       {@code 2 log2(W)} steps, for many ranks where per-step latency dominates. With W not a
 *       power of two, the first {@code 2 (W - 2^k)} ranks pair up first (one extra exchange of
 *       the whole buffer before and after).</li>
 * </ul>
 *
 * <p>Set-up: each process {@link #listen listens} first, the addresses of all ranks are
 * exchanged by other means (in Spark: one {@code allGather} of the barrier tasks), then each
 * calls {@link Listener#connect}. Rank r connects to the ranks below it and accepts the ranks
 * above; the handshake checks a run token (so connections of another run are refused), the
 * ranks, the number of ranks and the byte order.
 *
 * <p>Failure: any step that sees no progress for {@code timeout}, or a peer's connection
 * closing, throws {@link CollectiveException} naming the peer and closes this collective, which
 * makes every peer waiting on it fail at once as well. Not thread-safe: one thread makes the
 * calls; {@link #close()} may come from any thread to abort.
 */
public final class TcpCollective implements Collective {
    /** How an all-reduce moves the data. */
    public enum Algorithm {
        /** Ring for up to {@value TcpCollective#RING_MAX_WORKERS} ranks, halving-doubling above. */
        AUTO,
        /** Ring reduce-scatter and all-gather. */
        RING,
        /** Recursive halving reduce-scatter and recursive doubling all-gather. */
        HALVING_DOUBLING
    }

    /** Largest number of ranks for which {@link Algorithm#AUTO} picks the ring. */
    public static final int RING_MAX_WORKERS = 8;
    /** Default timeout: the longest a step may go without any byte moving. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private static final int MAGIC = 0x504E4E43; // "PNNC"
    private static final int VERSION = 1;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int rank, size;
    private final String[] addresses;
    private final SocketChannel[] peers;
    private final SelectionKey[] keys;
    private final Selector selector;
    private final long timeoutNanos;
    private final Algorithm algorithm;
    private final Arena arena = Arena.ofShared();
    private MemorySegment scratch = MemorySegment.NULL;
    private volatile boolean closed;
    private String op = "";

    // ------------------------------------------------------------------ set-up

    /**
     * Opens a listening socket on {@code host} at a free port; its {@link Listener#address()}
     * is what the other ranks connect to.
     *
     * @param host the address to bind and advertise, e.g. "127.0.0.1" or the executor's host
     */
    public static Listener listen(String host) {
        Objects.requireNonNull(host, "host");
        try {
            InetAddress a = InetAddress.getByName(host);
            ServerSocketChannel server = ServerSocketChannel.open();
            try {
                server.bind(new InetSocketAddress(a, 0), 1024);
            } catch (IOException e) {
                server.close();
                throw e;
            }
            return new Listener(server, a);
        } catch (IOException e) {
            throw new CollectiveException("cannot listen on " + host + ": " + e.getMessage(), e);
        }
    }

    /** A bound listening socket, before the ranks know each other's addresses. */
    public static final class Listener implements AutoCloseable {
        private final ServerSocketChannel server;
        private final String address;

        private Listener(ServerSocketChannel server, InetAddress host) throws IOException {
            this.server = server;
            int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
            String h = host.getHostAddress();
            this.address = (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
        }

        /** "host:port" ("[v6]:port" for IPv6) of this listener. */
        public String address() { return address; }

        /**
         * Connects this rank to all others and returns the collective; closes this listener.
         *
         * @param rank      this process's rank, in [0, addresses.size())
         * @param addresses every rank's {@link #address()}, indexed by rank
         * @param token     a number every rank of one run shares (connections carrying another
         *                  token are refused)
         * @param timeout   the longest any step (connecting included) may wait for a peer
         * @param algorithm the all-reduce algorithm
         */
        public TcpCollective connect(int rank, List<String> addresses, long token, Duration timeout, Algorithm algorithm) {
            try {
                Objects.requireNonNull(addresses, "addresses");
                Objects.requireNonNull(algorithm, "algorithm");
                if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                    throw new IllegalArgumentException("timeout must be > 0, got " + timeout);
                }
                int size = addresses.size();
                if (size < 1) throw new IllegalArgumentException("no addresses: a collective needs at least one rank");
                if (rank < 0 || rank >= size) {
                    throw new IllegalArgumentException("rank " + rank + " is outside [0, " + size + ")");
                }
                if (!address.equals(addresses.get(rank))) {
                    throw new IllegalArgumentException("addresses[" + rank + "] is " + addresses.get(rank)
                            + " but this rank listens on " + address);
                }
                return new TcpCollective(server, rank, addresses.toArray(String[]::new), token, timeout, algorithm);
            } finally {
                close();
            }
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }

    private TcpCollective(ServerSocketChannel server, int rank, String[] addresses, long token, Duration timeout,
                          Algorithm algorithm) {
        this.rank = rank;
        this.size = addresses.length;
        this.addresses = addresses;
        this.timeoutNanos = timeout.toNanos();
        this.algorithm = algorithm == Algorithm.AUTO
                ? (size <= RING_MAX_WORKERS ? Algorithm.RING : Algorithm.HALVING_DOUBLING) : algorithm;
        this.peers = new SocketChannel[size];
        this.keys = new SelectionKey[size];
        int timeoutMs = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        op = "connect";
        Selector sel = null;
        try {
            for (int p = 0; p < rank; p++) peers[p] = connectTo(p, token, timeoutMs);
            long deadline = System.nanoTime() + timeoutNanos;
            for (int accepted = 0; accepted < size - 1 - rank; ) {
                int waitMs = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                if (deadline - System.nanoTime() <= 0) {
                    List<Integer> missing = new ArrayList<>();
                    for (int p = rank + 1; p < size; p++) if (peers[p] == null) missing.add(p);
                    throw new CollectiveException("rank " + rank + ": rank(s) " + missing + " did not connect within "
                            + timeout.toMillis() + " ms");
                }
                server.socket().setSoTimeout(waitMs);
                Socket s;
                try {
                    s = server.socket().accept();
                } catch (SocketTimeoutException e) {
                    continue;
                }
                int p = acceptHandshake(s, token, timeoutMs);
                if (p >= 0) {
                    peers[p] = s.getChannel();
                    accepted++;
                }
            }
            sel = Selector.open();
            for (int p = 0; p < size; p++) {
                if (p == rank) continue;
                peers[p].configureBlocking(false);
                peers[p].setOption(StandardSocketOptions.TCP_NODELAY, true);
                keys[p] = peers[p].register(sel, 0);
            }
        } catch (IOException | RuntimeException e) {
            for (SocketChannel c : peers) closeQuietly(c);
            closeQuietly(sel);
            arena.close();
            if (e instanceof CollectiveException ce) throw ce;
            if (e instanceof IllegalArgumentException iae) throw iae;
            throw new CollectiveException("rank " + rank + ": setting up the connections failed: " + e, e);
        }
        this.selector = sel;
        op = "";
    }

    private SocketChannel connectTo(int p, long token, int timeoutMs) throws IOException {
        InetSocketAddress a = parse(addresses[p]);
        SocketChannel c = SocketChannel.open();
        try {
            Socket s = c.socket();
            long deadline = System.nanoTime() + timeoutNanos;
            while (true) {
                try {
                    s.connect(a, timeoutMs);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new CollectiveException("rank " + rank + ": cannot connect to rank " + p + " at " + addresses[p]
                                + ": " + e.getMessage(), e);
                    }
                    c.close();
                    c = SocketChannel.open();
                    s = c.socket();
                    sleep(50);
                }
            }
            s.setSoTimeout(timeoutMs);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            writeHello(out, token, rank);
            DataInputStream in = new DataInputStream(s.getInputStream());
            try {
                int[] h = readHello(in);
                long t = in.readLong();
                if (h == null || t != token || h[2] != p) {
                    throw new CollectiveException("rank " + rank + ": " + addresses[p] + " is not rank " + p
                            + " of this run (wrong handshake)");
                }
            } catch (SocketTimeoutException e) {
                throw new CollectiveException("rank " + rank + ": rank " + p + " at " + addresses[p]
                        + " did not answer within " + timeoutMs + " ms", e);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Reads a connecting rank's hello; returns its rank, or -1 for a stray connection (closed). */
    private int acceptHandshake(Socket s, long token, int timeoutMs) throws IOException {
        try {
            s.setSoTimeout(timeoutMs);
            DataInputStream in = new DataInputStream(s.getInputStream());
            int[] h = readHello(in);
            long t = in.readLong();
            if (h == null || t != token) {
                s.close();
                return -1;
            }
            int p = h[2];
            if (h[3] != size) {
                throw new CollectiveException("rank " + rank + ": rank " + p + " believes the run has " + h[3]
                        + " ranks, this one " + size);
            }
            if (h[1] != byteOrderFlag()) {
                throw new CollectiveException("rank " + rank + ": rank " + p + " has another byte order; float data cannot be summed");
            }
            if (p <= rank || p >= size || peers[p] != null) {
                throw new CollectiveException("rank " + rank + ": unexpected connection claiming rank " + p);
            }
            writeHello(new DataOutputStream(s.getOutputStream()), token, rank);
            return p;
        } catch (SocketTimeoutException | java.io.EOFException e) {
            s.close();
            return -1;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void writeHello(DataOutputStream out, long token, int r) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(byteOrderFlag());
        out.writeInt(r);
        out.writeInt(size);
        out.writeLong(token);
        out.flush();
    }

    /** {magic, byteOrder, rank, size}, or null when the magic is wrong (the token follows). */
    private static int[] readHello(DataInputStream in) throws IOException {
        int[] h = new int[4];
        for (int i = 0; i < 4; i++) h[i] = in.readInt();
        if (h[0] != MAGIC) return null;
        return h;
    }

    private static int byteOrderFlag() {
        return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? (VERSION << 8) : (VERSION << 8) | 1;
    }

    static InetSocketAddress parse(String address) {
        int colon = address == null ? -1 : address.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("address '" + address + "' is not host:port");
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        try {
            return new InetSocketAddress(host, Integer.parseInt(address.substring(colon + 1)));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("address '" + address + "' is not host:port", e);
        }
    }

    // ------------------------------------------------------------------ collectives

    @Override
    public int rank() { return rank; }

    @Override
    public int size() { return size; }

    /** The all-reduce algorithm in use (never {@link Algorithm#AUTO}). */
    public Algorithm algorithm() { return algorithm; }

    @Override
    public void allReduceMean(MemorySegment floats) {
        allReduce(floats, true);
    }

    @Override
    public void allReduceSum(MemorySegment floats) {
        allReduce(floats, false);
    }

    private void allReduce(MemorySegment data, boolean mean) {
        begin(mean ? "allReduceMean" : "allReduceSum");
        if (data.byteSize() % Float.BYTES != 0) {
            throw new IllegalArgumentException(op + ": segment of " + data.byteSize() + " bytes does not hold whole floats");
        }
        try {
            if (size > 1) {
                if (algorithm == Algorithm.RING) ring(data, mean);
                else halvingDoubling(data, mean);
            }
        } catch (RuntimeException e) {
            throw fail(e);
        } finally {
            op = "";
        }
    }

    private void ring(MemorySegment data, boolean mean) {
        long n = data.byteSize() / Float.BYTES;
        int right = (rank + 1) % size, left = (rank - 1 + size) % size;
        for (int s = 0; s < size - 1; s++) {
            int sendIdx = Math.floorMod(rank - s, size), recvIdx = Math.floorMod(rank - s - 1, size);
            MemorySegment recv = chunk(data, n, recvIdx);
            MemorySegment tmp = scratch(recv.byteSize());
            exchange(right, chunk(data, n, sendIdx), left, tmp);
            add(recv, tmp);
        }
        MemorySegment own = chunk(data, n, (rank + 1) % size);
        if (mean) scale(own);
        for (int s = 0; s < size - 1; s++) {
            exchange(right, chunk(data, n, Math.floorMod(rank + 1 - s, size)), left, chunk(data, n, Math.floorMod(rank - s, size)));
        }
    }

    /** Chunk i of W of n floats: [n i / W, n (i+1) / W). */
    private MemorySegment chunk(MemorySegment data, long n, int i) {
        long lo = n * i / size, hi = n * (i + 1) / size;
        return data.asSlice(lo * Float.BYTES, (hi - lo) * Float.BYTES);
    }

    private void halvingDoubling(MemorySegment data, boolean mean) {
        long n = data.byteSize() / Float.BYTES;
        int p = Integer.highestOneBit(size), extra = size - p;
        // pre-step: the first 2*extra ranks pair up; the even one hands its data to the odd one
        if (rank < 2 * extra) {
            if (rank % 2 == 0) {
                exchange(rank + 1, data, -1, null);
                exchange(-1, null, rank + 1, data); // the final result
                return;
            }
            MemorySegment tmp = scratch(data.byteSize());
            exchange(-1, null, rank - 1, tmp);
            add(data, tmp);
        }
        int me = rank < 2 * extra ? rank / 2 : rank - extra;
        long lo = 0, hi = n;
        long[] los = new long[32], his = new long[32];
        int levels = 0;
        for (int dist = p / 2; dist >= 1; dist /= 2) {
            int partner = actual(me ^ dist, extra);
            long mid = lo + (hi - lo) / 2;
            los[levels] = lo;
            his[levels] = hi;
            levels++;
            long keepLo, keepHi, giveLo, giveHi;
            if ((me & dist) == 0) {
                keepLo = lo; keepHi = mid; giveLo = mid; giveHi = hi;
            } else {
                keepLo = mid; keepHi = hi; giveLo = lo; giveHi = mid;
            }
            MemorySegment keep = floats(data, keepLo, keepHi);
            MemorySegment tmp = scratch(keep.byteSize());
            exchange(partner, floats(data, giveLo, giveHi), partner, tmp);
            add(keep, tmp);
            lo = keepLo;
            hi = keepHi;
        }
        if (mean) scale(floats(data, lo, hi));
        for (int dist = 1; dist < p; dist *= 2) {
            levels--;
            int partner = actual(me ^ dist, extra);
            long plo = los[levels], phi = his[levels];
            // the partner holds the other part of [plo, phi)
            long oLo = lo == plo ? hi : plo, oHi = lo == plo ? phi : lo;
            exchange(partner, floats(data, lo, hi), partner, floats(data, oLo, oHi));
            lo = plo;
            hi = phi;
        }
        if (rank < 2 * extra) exchange(rank - 1, data, -1, null);
    }

    private static int actual(int me, int extra) {
        return me < extra ? 2 * me + 1 : me + extra;
    }

    private static MemorySegment floats(MemorySegment data, long lo, long hi) {
        return data.asSlice(lo * Float.BYTES, (hi - lo) * Float.BYTES);
    }

    @Override
    public void broadcast(MemorySegment bytes, int root) {
        begin("broadcast");
        if (root < 0 || root >= size) throw new IllegalArgumentException("broadcast root " + root + " is outside [0, " + size + ")");
        try {
            // binomial tree on ranks relative to the root: log2(W) rounds
            int rel = Math.floorMod(rank - root, size);
            for (int mask = 1; mask < size; mask <<= 1) {
                if (rel < mask) {
                    if (rel + mask < size) exchange((rel + mask + root) % size, bytes, -1, null);
                } else if (rel < 2 * mask) {
                    exchange(-1, null, (rel - mask + root) % size, bytes);
                }
            }
        } catch (RuntimeException e) {
            throw fail(e);
        } finally {
            op = "";
        }
    }

    @Override
    public void barrier() {
        begin("barrier");
        try {
            // dissemination barrier: log2(W) rounds of one byte
            MemorySegment one = scratch(1).asSlice(0, 1);
            for (int d = 1; d < size; d <<= 1) {
                exchange((rank + d) % size, one, Math.floorMod(rank - d, size), one);
            }
        } catch (RuntimeException e) {
            throw fail(e);
        } finally {
            op = "";
        }
    }

    private void begin(String what) {
        if (closed) throw new IllegalStateException(what + ": the collective is closed");
        op = what;
    }

    /**
     * Sends {@code send} to rank {@code to} while receiving {@code recv} from rank {@code from}
     * (either may be absent: -1 / null), both at once so that neither side blocks the other.
     */
    private void exchange(int to, MemorySegment send, int from, MemorySegment recv) {
        ByteBuffer sb = to < 0 || send.byteSize() == 0 ? null : send.asByteBuffer();
        ByteBuffer rb = from < 0 || recv.byteSize() == 0 ? null : recv.asByteBuffer();
        long last = System.nanoTime();
        try {
            while ((sb != null && sb.hasRemaining()) || (rb != null && rb.hasRemaining())) {
                boolean progress = false;
                if (sb != null && sb.hasRemaining() && peers[to].write(sb) > 0) progress = true;
                if (rb != null && rb.hasRemaining()) {
                    int r = peers[from].read(rb);
                    if (r < 0) {
                        throw new CollectiveException(op + " on rank " + rank + ": rank " + from + " (" + addresses[from]
                                + ") closed its connection (it failed or was stopped)");
                    }
                    if (r > 0) progress = true;
                }
                long now = System.nanoTime();
                if (progress) {
                    last = now;
                    continue;
                }
                long left = timeoutNanos - (now - last);
                if (left <= 0) {
                    String who = sb != null && sb.hasRemaining() && (rb == null || !rb.hasRemaining())
                            ? "rank " + to + " (" + addresses[to] + ") took nothing"
                            : "rank " + from + " (" + addresses[from] + ") sent nothing";
                    throw new CollectiveException(op + " on rank " + rank + ": " + who + " for " + timeoutNanos / 1_000_000
                            + " ms (it died, hangs or was not called there)");
                }
                if (to >= 0) keys[to].interestOps(sb != null && sb.hasRemaining() ? SelectionKey.OP_WRITE : 0);
                if (from >= 0) {
                    int ops = rb != null && rb.hasRemaining() ? SelectionKey.OP_READ : 0;
                    keys[from].interestOps(from == to ? keys[from].interestOps() | ops : ops);
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            int peer = sb != null && sb.hasRemaining() ? to : from;
            throw new CollectiveException(op + " on rank " + rank + ": connection to rank " + peer + " (" + addresses[peer]
                    + ") failed: " + e.getMessage(), e);
        } finally {
            if (!closed) {
                if (to >= 0) keys[to].interestOps(0);
                if (from >= 0) keys[from].interestOps(0);
            }
        }
    }

    private MemorySegment scratch(long bytes) {
        if (scratch.byteSize() < bytes) scratch = arena.allocate(Math.max(bytes, 64), 64);
        return scratch.asSlice(0, bytes);
    }

    /** dst[i] += src[i]. */
    private static void add(MemorySegment dst, MemorySegment src) {
        long n = dst.byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) dst.setAtIndex(F, i, dst.getAtIndex(F, i) + src.getAtIndex(F, i));
    }

    private void scale(MemorySegment s) {
        long n = s.byteSize() / Float.BYTES;
        float w = size;
        for (long i = 0; i < n; i++) s.setAtIndex(F, i, s.getAtIndex(F, i) / w);
    }

    private CollectiveException fail(RuntimeException e) {
        boolean wasClosed = closed;
        close();
        if (e instanceof CollectiveException ce) return ce;
        if (wasClosed) return new CollectiveException(op + " on rank " + rank + ": the collective was closed during the call", e);
        return new CollectiveException(op + " on rank " + rank + " failed: " + e, e);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (SocketChannel c : peers) closeQuietly(c);
        closeQuietly(selector);
        try {
            arena.close();
        } catch (IllegalStateException ignored) {
            // a call in another thread still uses the scratch memory; it fails and the GC frees nothing twice
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // closing to abort: nothing to report
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("interrupted while connecting", e);
        }
    }

    @Override
    public String toString() {
        return "TcpCollective(rank " + rank + " of " + size + ", " + algorithm + ")";
    }
}
