package dev.panamann.dist;

import java.lang.foreign.MemorySegment;

/**
 * Collective operations between the {@link #size()} processes (ranks) of one data-parallel
 * training run, the way MPI and Horovod name them. Every rank must make the same calls in the
 * same order with segments of the same size; each call returns when this rank's part is done.
 *
 * <p>Data are float32 values in native byte order, in place in off-heap {@link MemorySegment}s
 * (a model's contiguous gradient buffer): nothing is copied to the Java heap. A collective that
 * fails (a peer died, closed its connection or sent nothing within the timeout) throws
 * {@link CollectiveException} and is unusable afterwards; closing it makes the other ranks fail
 * fast too instead of waiting for their own timeouts.
 */
public interface Collective extends AutoCloseable {

    /** This process's rank, in [0, size). */
    int rank();

    /** Number of ranks. */
    int size();

    /**
     * Replaces each value by the sum over all ranks, then divides it by {@link #size()}. Every
     * rank ends with bit-identical values (each sum is computed once and copied).
     *
     * @param floats float32 values, native byte order; byte size a multiple of 4 (0 allowed)
     */
    void allReduceMean(MemorySegment floats);

    /**
     * Replaces each value by the sum over all ranks; bit-identical on every rank.
     *
     * @param floats float32 values, native byte order; byte size a multiple of 4 (0 allowed)
     */
    void allReduceSum(MemorySegment floats);

    /**
     * Copies {@code root}'s bytes into the same segment of every other rank.
     *
     * @param bytes any bytes; the same size on every rank
     * @param root  the rank whose contents everybody receives
     */
    void broadcast(MemorySegment bytes, int root);

    /** Returns once every rank has called it. */
    void barrier();

    /** Closes the connections (idempotent); peers still in a collective fail at once. */
    @Override
    void close();
}
