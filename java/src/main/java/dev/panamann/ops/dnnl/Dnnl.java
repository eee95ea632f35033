package dev.panamann.ops.dnnl;

import dev.panamann.ops.ConvGeometry;

import dev.panamann.bindings.dnnl.dnnl_exec_arg_t;
import dev.panamann.bindings.dnnl.dnnl_batch_normalization_desc_t;
import dev.panamann.bindings.dnnl.dnnl_blocking_desc_t;
import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.bindings.dnnl.dnnl_memory_desc_t;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Small helpers around the oneDNN C API shared by the native ops: status checks, memory
 * descriptors, and {@link Plan}, the owner of every native object one planned op creates.
 */
public final class Dnnl {
    private Dnnl() {}

    /*
     * sizeof(dnnl_convolution_desc_t) and sizeof(dnnl_pooling_desc_t). The generated classes of
     * these two structs cannot be loaded: their 2-D field "dnnl_dims_t padding[2]" makes the
     * generated static initializer ask for a var handle on a sequence layout, which throws. So the
     * sizes are computed here from the same layout (three ints, padding, the memory descriptors,
     * then strides, dilates or kernel, and padding[2] as 4 * DNNL_MAX_NDIMS int64, an int and
     * padding); the fields themselves are only ever written by the *_desc_init functions.
     */
    static final long CONVOLUTION_DESC_BYTES = opDescBytes(8);
    static final long POOLING_DESC_BYTES = opDescBytes(4);

    private static long opDescBytes(int memoryDescs) {
        return MemoryLayout.structLayout(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, MemoryLayout.paddingLayout(4),
                MemoryLayout.sequenceLayout(memoryDescs, dnnl_memory_desc_t.layout()),
                MemoryLayout.sequenceLayout(4L * dnnl_h.DNNL_MAX_NDIMS(), ValueLayout.JAVA_LONG),
                ValueLayout.JAVA_INT, MemoryLayout.paddingLayout(4)).byteSize();
    }

    /** Throws {@link IllegalStateException} naming the call and oneDNN's status when status is not success. */
    /** The implementation oneDNN chose for primitive descriptor {@code pd}, e.g. {@code jit:avx512_core} or {@code ref:any}. */
    static String impl(Plan plan, MemorySegment pd) {
        MemorySegment p = plan.arena.allocate(ValueLayout.ADDRESS);
        check(dnnl_h.dnnl_primitive_desc_query(pd, dnnl_h.dnnl_query_impl_info_str(), 0, p), "dnnl_primitive_desc_query");
        return NativeOps.cString(p.get(ValueLayout.ADDRESS, 0));
    }

    static void check(int status, String call) {
        if (status != dnnl_h.dnnl_success()) {
            String text;
            try {
                text = NativeOps.cString(dnnl_h.dnnl_status2str(status));
            } catch (RuntimeException e) {
                text = "status " + status;
            }
            throw new IllegalStateException(call + " failed: " + text);
        }
    }


    /**
     * The native objects and off-heap buffers of one planned op: oneDNN primitive
     * descriptors, primitives and memory objects (destroyed in reverse order of creation by
     * {@link #close()}), plus an arena for descriptors, argument arrays and the buffers the
     * primitives need (reordered tensors, workspaces, the scratchpad). Everything is made at
     * plan time; the steady-state calls only set data handles and execute.
     */
    static final class Plan implements AutoCloseable {
        final NativeOps ops;
        final MemorySegment engine;
        final Arena arena = Arena.ofShared();
        private final ArrayDeque<Runnable> destroyers = new ArrayDeque<>();
        /** The buffers of {@link #ownedMemory} objects, by the memory object's address. */
        private final Map<Long, MemorySegment> ownedBuffers = new HashMap<>();
        private final MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        private final MemorySegment attr;
        /** Primitive descriptors whose scratchpads share {@link #scratchpad}. */
        private final List<Exec> scratchUsers = new ArrayList<>();
        private MemorySegment scratchpad = MemorySegment.NULL;
        private final String what;
        /** {@code what + " plan"}, built once: the use guard names it only when it refuses a call. */
        private final String label;
        /** Native calls running on this plan's objects; close waits for them. */
        private final UseCount uses = new UseCount();
        /** The backend's thread count when this plan was made: oneDNN's primitives keep it. */
        private final int threads;

        Plan(NativeOps ops, String what) {
            this.ops = ops;
            this.what = what;
            this.threads = ops.threads();
            this.label = what + " plan";
            this.engine = ops.engine();
            try {
                ops.beforeNativeCall();
                check(dnnl_h.dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create");
                MemorySegment a = out.get(ValueLayout.ADDRESS, 0);
                destroyers.push(() -> dnnl_h.dnnl_primitive_attr_destroy(a));
                // user-managed scratchpad: one buffer per plan, allocated at plan time
                check(dnnl_h.dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_h.dnnl_scratchpad_mode_user()),
                        "dnnl_primitive_attr_set_scratchpad_mode");
                attr = a;
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        /** Room for an op descriptor of {@code bytes} (e.g. {@link #CONVOLUTION_DESC_BYTES}). */
        MemorySegment opDesc(long bytes) {
            return arena.allocate(bytes, 8);
        }

        /** {@code dnnl_dims_t} holding {@code d}. */
        MemorySegment dims(long... d) {
            MemorySegment s = arena.allocate(ValueLayout.JAVA_LONG, Math.max(1, d.length));
            for (int i = 0; i < d.length; i++) s.setAtIndex(ValueLayout.JAVA_LONG, i, d[i]);
            return s;
        }

        /** An f32 memory descriptor of the given dims and format tag (e.g. nchw, or format_tag_any). */
        MemorySegment md(int tag, long... d) {
            MemorySegment md = dnnl_memory_desc_t.allocate(arena);
            check(dnnl_h.dnnl_memory_desc_init_by_tag(md, d.length, dims(d), dnnl_h.dnnl_f32(), tag),
                    "dnnl_memory_desc_init_by_tag " + java.util.Arrays.toString(d));
            return md;
        }

        /** Creates a primitive descriptor (with this plan's attributes) and registers it for destruction. */
        MemorySegment pd(MemorySegment opDesc, MemorySegment hint, String call) {
            return pd(opDesc, hint, attr, call);
        }

        /** As {@link #pd(MemorySegment, MemorySegment, String)} with other attributes, e.g. {@link #reluPostOpAttr()}. */
        MemorySegment pd(MemorySegment opDesc, MemorySegment hint, MemorySegment attr, String call) {
            check(dnnl_h.dnnl_primitive_desc_create(out, opDesc, attr, engine, hint == null ? MemorySegment.NULL : hint),
                    "dnnl_primitive_desc_create (" + call + ", " + what + ")");
            MemorySegment pd = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_primitive_desc_destroy(pd));
            return pd;
        }

        /**
         * Attributes as this plan's (user-managed scratchpad) plus a ReLU post-op: a primitive
         * made with them applies {@code max(0, v)} to each value it writes, in the same pass.
         */
        MemorySegment reluPostOpAttr() {
            check(dnnl_h.dnnl_post_ops_create(out), "dnnl_post_ops_create");
            MemorySegment postOps = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_post_ops_destroy(postOps));
            check(dnnl_h.dnnl_post_ops_append_eltwise(postOps, 1f, dnnl_h.dnnl_eltwise_relu(), 0f, 0f),
                    "dnnl_post_ops_append_eltwise (relu)");
            check(dnnl_h.dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create");
            MemorySegment a = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_primitive_attr_destroy(a));
            check(dnnl_h.dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_h.dnnl_scratchpad_mode_user()),
                    "dnnl_primitive_attr_set_scratchpad_mode");
            check(dnnl_h.dnnl_primitive_attr_set_post_ops(a, postOps), "dnnl_primitive_attr_set_post_ops");
            return a;
        }

        /**
         * The three batch-normalization primitive descriptors over data of layout {@code dataMd}
         * with {@code flags} (scale, shift, perhaps a fused ReLU): forward training, forward
         * inference (the flags plus global statistics) and backward (hinted by the training one).
         */
        BatchNormPds batchNormPds(MemorySegment dataMd, float eps, int flags, String what) {
            MemorySegment td = dnnl_batch_normalization_desc_t.allocate(arena);
            check(dnnl_h.dnnl_batch_normalization_forward_desc_init(td, dnnl_h.dnnl_forward_training(), dataMd, eps, flags),
                    "dnnl_batch_normalization_forward_desc_init (training" + what + ")");
            MemorySegment tpd = pd(td, null, "batch normalization forward training" + what);
            MemorySegment id = dnnl_batch_normalization_desc_t.allocate(arena);
            check(dnnl_h.dnnl_batch_normalization_forward_desc_init(id, dnnl_h.dnnl_forward_inference(), dataMd, eps,
                    flags | dnnl_h.dnnl_use_global_stats()), "dnnl_batch_normalization_forward_desc_init (inference" + what + ")");
            MemorySegment ipd = pd(id, null, "batch normalization forward inference" + what);
            MemorySegment bd = dnnl_batch_normalization_desc_t.allocate(arena);
            check(dnnl_h.dnnl_batch_normalization_backward_desc_init(bd, dnnl_h.dnnl_backward(), dataMd, dataMd, eps, flags),
                    "dnnl_batch_normalization_backward_desc_init (backward" + what + ")");
            MemorySegment bpd = pd(bd, tpd, "batch normalization backward" + what);
            return new BatchNormPds(tpd, ipd, bpd);
        }

        /** A reorder primitive descriptor from {@code src} to {@code dst} layout. */
        MemorySegment reorderPd(MemorySegment srcMd, MemorySegment dstMd) {
            check(dnnl_h.dnnl_reorder_primitive_desc_create(out, srcMd, engine, dstMd, engine, attr),
                    "dnnl_reorder_primitive_desc_create (" + what + ")");
            MemorySegment pd = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_primitive_desc_destroy(pd));
            return pd;
        }

        /** The memory descriptor a primitive descriptor reports, copied into this plan; null when empty. */
        MemorySegment queryMd(MemorySegment pd, int query, int index) {
            MemorySegment p = dnnl_h.dnnl_primitive_desc_query_md(pd, query, index);
            if (p.equals(MemorySegment.NULL)) return null;
            long size = dnnl_memory_desc_t.layout().byteSize();
            MemorySegment md = dnnl_memory_desc_t.allocate(arena);
            MemorySegment.copy(p.reinterpret(size), 0, md, 0, size);
            return dnnl_memory_desc_t.ndims(md) == 0 ? null : md;
        }

        /** Creates a primitive from its descriptor, with an argument array of {@code nargs} slots. */
        Exec exec(MemorySegment pd, int nargs, String call) {
            check(dnnl_h.dnnl_primitive_create(out, pd), "dnnl_primitive_create (" + call + ", " + what + ")");
            MemorySegment prim = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_primitive_destroy(prim));
            Exec e = new Exec(this, pd, prim, nargs + 1, call);
            // gemm-based implementations (e.g. backward weights of small convolutions) run
            // oneDNN 2.x's sgemm kernels, which must not take a signal (HeldSignals)
            e.holdSignals = impl(this, pd).contains("gemm");
            MemorySegment scratchMd = queryMd(pd, dnnl_h.dnnl_query_scratchpad_md(), 0);
            if (scratchMd != null && dnnl_h.dnnl_memory_desc_get_size(scratchMd) > 0) {
                e.scratchMd = scratchMd;
                scratchUsers.add(e);
            }
            return e;
        }

        /** A memory object of descriptor {@code md} with no buffer yet (set per call to a tensor). */
        MemorySegment userMemory(MemorySegment md) {
            return memory(md, MemorySegment.NULL);
        }

        /** A memory object of descriptor {@code md} over a new zeroed buffer owned by this plan. */
        MemorySegment ownedMemory(MemorySegment md) {
            MemorySegment buffer = buffer(dnnl_h.dnnl_memory_desc_get_size(md));
            MemorySegment mem = memory(md, buffer);
            ownedBuffers.put(mem.address(), buffer);
            return mem;
        }

        /** The buffer of a memory object made by {@link #ownedMemory}. */
        MemorySegment bufferOf(MemorySegment ownedMemory) {
            MemorySegment buffer = ownedBuffers.get(ownedMemory.address());
            if (buffer == null) throw new IllegalStateException("not a memory object owned by the " + label);
            return buffer;
        }

        MemorySegment memory(MemorySegment md, MemorySegment handle) {
            check(dnnl_h.dnnl_memory_create(out, md, engine, handle), "dnnl_memory_create (" + what + ")");
            MemorySegment mem = out.get(ValueLayout.ADDRESS, 0);
            destroyers.push(() -> dnnl_h.dnnl_memory_destroy(mem));
            return mem;
        }

        /** A zeroed, 64-byte-aligned off-heap buffer that lives as long as the plan. */
        MemorySegment buffer(long bytes) {
            return arena.allocate(Math.max(bytes, 64), Tensor.ALIGNMENT);
        }

        /**
         * An argument of a primitive whose user tensor has layout {@code userMd} while the
         * primitive wants {@code wantedMd}: when they differ, a buffer in the wanted layout and a
         * reorder primitive are made here, once.
         *
         * @param input true when the primitive reads the tensor (reorder user to primitive before),
         *              false when it writes it (reorder primitive to user after)
         */
        Port port(MemorySegment userMd, MemorySegment wantedMd, boolean input) {
            MemorySegment user = userMemory(userMd);
            if (wantedMd == null || dnnl_h.dnnl_memory_desc_equal(userMd, wantedMd) == 1) {
                return new Port(this, user, user, null, input);
            }
            MemorySegment inner = ownedMemory(wantedMd);
            Exec reorder = input ? exec(reorderPd(userMd, wantedMd), 2, "reorder")
                    : exec(reorderPd(wantedMd, userMd), 2, "reorder");
            reorder.arg(dnnl_h.DNNL_ARG_FROM(), input ? user : inner);
            reorder.arg(dnnl_h.DNNL_ARG_TO(), input ? inner : user);
            return new Port(this, user, inner, reorder, input);
        }

        /**
         * An output argument that the primitive always writes into a buffer of this plan (layout
         * {@code innerMd}), copied or reordered into the user's tensor after it ran, even when
         * the two layouts are the same: the plan keeps its own copy of the result.
         */
        Port ownedOutput(MemorySegment userMd, MemorySegment innerMd) {
            MemorySegment user = userMemory(userMd);
            MemorySegment inner = ownedMemory(innerMd);
            Exec reorder = exec(reorderPd(innerMd, userMd), 2, "reorder");
            reorder.arg(dnnl_h.DNNL_ARG_FROM(), inner);
            reorder.arg(dnnl_h.DNNL_ARG_TO(), user);
            return new Port(this, user, inner, reorder, false);
        }

        /**
         * Call after the last {@link #exec}: allocates the one scratchpad buffer (the largest any
         * primitive of the plan asks for; they run one after another) and hands it to each.
         */
        void finishScratchpad() {
            long max = 0;
            for (Exec e : scratchUsers) max = Math.max(max, dnnl_h.dnnl_memory_desc_get_size(e.scratchMd));
            if (max == 0) return;
            scratchpad = buffer(max);
            for (Exec e : scratchUsers) e.arg(dnnl_h.DNNL_ARG_SCRATCHPAD(), memory(e.scratchMd, scratchpad));
        }

        /** Bytes of the shared scratchpad (0 when no primitive needs one). */
        long scratchpadBytes() { return scratchpad.byteSize(); }

        /**
         * Whether the backend's thread count differs from the one this plan was made at (its
         * primitives run on the count they were made with, whatever the setting now): the op
         * should be planned again.
         */
        boolean stale() { return ops.threads() != threads; }

        /** Throws when closed; applies the thread setting to the calling thread. */
        void enter() {
            if (uses.isClosed()) throw new IllegalStateException(what + " plan is closed");
            ops.beforeNativeCall();
        }

        /**
         * Points memory object {@code mem} of this plan at the data of {@code t} (throws if
         * {@code t} or the plan is closed).
         */
        void bind(MemorySegment mem, Tensor t) {
            bind(mem, t.segment());
        }

        /** Points memory object {@code mem} of this plan at {@code data} (throws if the plan is closed). */
        void bind(MemorySegment mem, MemorySegment data) {
            uses.enter(label);
            try {
                check(dnnl_h.dnnl_memory_set_data_handle(mem, data), "dnnl_memory_set_data_handle");
            } finally {
                uses.exit();
            }
        }

        /** Waits for the stream (CPU streams are in order; this is a cheap barrier). */
        void sync() {
            ops.enterCall();
            try {
                check(dnnl_h.dnnl_stream_wait(ops.stream()), "dnnl_stream_wait");
            } finally {
                ops.exitCall();
            }
        }

        boolean isClosed() { return uses.isClosed(); }

        /**
         * Destroys the plan's native objects and frees its buffers, after waiting for any call
         * another thread is running on them; later calls throw {@link IllegalStateException}.
         */
        @Override
        public void close() {
            if (!uses.close()) return;
            while (!destroyers.isEmpty()) destroyers.pop().run();
            arena.close();
        }
    }

    /** A primitive with its preallocated argument array. */
    static final class Exec {
        private final Plan plan;
        final MemorySegment pd;
        private final MemorySegment primitive;
        private final MemorySegment args;
        private final int capacity;
        private final String name;
        private int nargs;
        private MemorySegment scratchMd;
        /** Whether the calling thread's signals are held while the primitive runs ({@link HeldSignals}). */
        private boolean holdSignals;

        Exec(Plan plan, MemorySegment pd, MemorySegment primitive, int capacity, String name) {
            this.plan = plan;
            this.pd = pd;
            this.primitive = primitive;
            this.capacity = capacity;
            this.name = name;
            this.args = dnnl_exec_arg_t.allocateArray(capacity, plan.arena);
        }

        /** Binds {@code memory} to argument {@code argId} (DNNL_ARG_SRC etc.); done at plan time. */
        Exec arg(int argId, MemorySegment memory) {
            if (nargs == capacity) throw new IllegalStateException("too many arguments for " + name);
            MemorySegment a = dnnl_exec_arg_t.asSlice(args, nargs++);
            dnnl_exec_arg_t.arg(a, argId);
            dnnl_exec_arg_t.memory(a, memory);
            return this;
        }

        /** Runs the primitive on the plan's stream; the plan and the backend cannot close meanwhile. */
        void run() {
            plan.uses.enter(plan.label);
            try {
                plan.ops.enterCall();
                if (plan.ops.threads() > 1) NativeOps.parallelRegionAhead();
                MemorySegment held = holdSignals ? HeldSignals.hold() : null;
                try {
                    int status = dnnl_h.dnnl_primitive_execute(primitive, plan.ops.stream(), nargs, args);
                    // the message is built only on failure: a step runs this a dozen times
                    if (status != dnnl_h.dnnl_success()) check(status, "dnnl_primitive_execute (" + name + ")");
                } finally {
                    if (held != null) HeldSignals.release(held);
                    plan.ops.exitCall();
                }
            } finally {
                plan.uses.exit();
            }
        }

        /** The implementation oneDNN chose, e.g. {@code jit:avx2}. */
        String impl() {
            return Dnnl.impl(plan, pd);
        }
    }

    /**
     * A convolution's dims and its user-side (plain) memory descriptors: x NCHW, w OIHW, b (F)
     * and y NCHW, made in {@code plan}'s arena.
     */
    record ConvMds(long[] xDims, long[] wDims, long[] yDims, MemorySegment x, MemorySegment w, MemorySegment b,
                   MemorySegment y) {
        static ConvMds of(Plan plan, ConvGeometry g) {
            long[] xDims = {g.n(), g.c(), g.h(), g.w()};
            long[] wDims = {g.f(), g.c(), g.kh(), g.kw()};
            long[] yDims = {g.n(), g.f(), g.outH(), g.outW()};
            return new ConvMds(xDims, wDims, yDims, plan.md(dnnl_h.dnnl_nchw(), xDims), plan.md(dnnl_h.dnnl_oihw(), wDims),
                    plan.md(dnnl_h.dnnl_x(), g.f()), plan.md(dnnl_h.dnnl_nchw(), yDims));
        }
    }

    /** Batch normalization's forward-training, forward-inference and backward primitive descriptors. */
    record BatchNormPds(MemorySegment training, MemorySegment inference, MemorySegment backward) {}

    /**
     * One tensor argument of a primitive: {@code user} takes the tensor's memory per call; the
     * primitive reads or writes {@code inner}, which is {@code user} itself unless the layouts
     * differ, in which case {@code reorder} copies between them.
     *
     * <p>A tensor held in a {@link StorageOrder} other than row-major (a weight or its gradient
     * between training steps, {@link dev.panamann.tensor.Param}) is read or written directly
     * when that order is this port's inner layout ({@link #order()}): the primitive runs on the
     * tensor's memory and nothing is reordered. A tensor in another order goes through a
     * row-major copy owned by the port, converted by the order's permutation, so the result is
     * right in either case and the tensor's order is left as it is (no other thread's tensors
     * change).
     */
    static final class Port {
        private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
        private static final int ROW_MAJOR = 0, DIRECT = 1, CONVERTED = 2, ALTERNATE = 3;
        private final Plan plan;
        private final MemorySegment user, inner;
        private final Exec reorder;
        private final boolean input;
        /** The inner memory's own buffer; null when inner is the user memory. */
        private final MemorySegment innerBuffer;
        /** How the tensor of the current call is bound ({@link #ROW_MAJOR}, {@link #DIRECT}, {@link #CONVERTED}). */
        private int mode = ROW_MAJOR;
        /** The memory the inner memory object points at now. */
        private MemorySegment innerData;
        private boolean orderKnown;
        private StorageOrder order;
        /** The last tensor order found equal to {@link #order} (compared by identity first). */
        private StorageOrder matched;
        /** Row-major copy for a tensor in another order, made when first needed; and that tensor. */
        private MemorySegment rowMajorCopy;
        private Tensor converted;
        private StorageOrder convertedOrder;
        /** An input's second source layout ({@link #alsoFrom}): its memory, its reorder and the port whose order it is. */
        private MemorySegment alternateUser;
        private Exec alternateReorder;
        private Port alternateSource;

        Port(Plan plan, MemorySegment user, MemorySegment inner, Exec reorder, boolean input) {
            this.plan = plan;
            this.user = user;
            this.inner = inner;
            this.reorder = reorder;
            this.input = input;
            this.innerBuffer = reorder == null ? null : plan.bufferOf(inner);
            this.innerData = innerBuffer;
        }

        MemorySegment inner() { return inner; }

        Exec reorder() { return reorder; }

        /**
         * Points the port at {@code t} for this call. For an output, the memory the primitive
         * writes is then {@link #innerData()} (the tensor's own memory when it is read or written
         * directly or the port needs no reorder).
         */
        void bind(Tensor t) {
            StorageOrder o = t.storageOrder();
            if (o == null) {
                bindRowMajor(t.storage());
                converted = null;
            } else if (reorder != null && (o == matched || o.equals(order()))) {
                matched = o;
                mode = DIRECT;
                innerData = t.storage();
                plan.bind(inner, innerData);
                converted = null;
            } else if (alternateReorder != null && (o == alternateSource.matched || o.equals(alternateSource.order()))) {
                if (mode == DIRECT) plan.bind(inner, innerBuffer);
                alternateSource.matched = o;
                mode = ALTERNATE;
                plan.bind(alternateUser, t.storage());
                innerData = innerBuffer;
                converted = null;
            } else {
                if (rowMajorCopy == null) rowMajorCopy = plan.buffer(t.size() * Float.BYTES);
                converted = t;
                convertedOrder = o;
                if (input) o.copyToRowMajor(t.storage(), rowMajorCopy);
                bindRowMajor(rowMajorCopy);
                mode = CONVERTED;
            }
        }

        private void bindRowMajor(MemorySegment data) {
            if (mode == DIRECT) {
                plan.bind(inner, innerBuffer); // back to the port's own buffer
            }
            mode = ROW_MAJOR;
            plan.bind(user, data);
            innerData = reorder == null ? data : innerBuffer;
        }

        /** For inputs: bind, then reorder into the primitive's layout if needed. */
        void in(Tensor t) {
            bind(t);
            if (mode == ALTERNATE) alternateReorder.run();
            else if (reorder != null && mode != DIRECT) reorder.run();
        }

        /**
         * Lets this input port also read, with one oneDNN reorder, a tensor held in the order of
         * {@code source}'s inner layout {@code sourceMd} (backward data reading weights held in
         * the forward's layout); made at plan time, before {@link Plan#finishScratchpad}.
         */
        void alsoFrom(Port source, MemorySegment sourceMd) {
            if (!input || reorder == null || source.reorder == null || dnnl_h.dnnl_memory_desc_equal(sourceMd, innerMd()) == 1) {
                return; // read directly (the same layout) or never in that order
            }
            alternateUser = plan.userMemory(sourceMd);
            alternateReorder = plan.exec(plan.reorderPd(sourceMd, innerMd()), 2, "reorder")
                    .arg(dnnl_h.DNNL_ARG_FROM(), alternateUser).arg(dnnl_h.DNNL_ARG_TO(), inner);
            alternateSource = source;
        }

        /** For outputs: after the primitive ran, reorder into the user layout if needed. */
        void out() {
            if (reorder != null && mode != DIRECT) reorder.run();
            if (mode == CONVERTED && converted != null) {
                plan.sync();
                convertedOrder.copyFromRowMajor(rowMajorCopy, converted.storage());
            }
        }

        /** How the last call's tensor was bound: row-major, direct, converted or alternate (for tests). */
        String mode() {
            return switch (mode) {
                case DIRECT -> "direct";
                case CONVERTED -> "converted";
                case ALTERNATE -> "alternate";
                default -> "row-major";
            };
        }

        /** The layout the primitive reads or writes this argument in. */
        MemorySegment innerMd() { return mdOf(inner); }

        /** The memory the primitive reads or writes in the current call (after {@link #bind}). */
        MemorySegment innerData() { return innerData; }

        /**
         * The storage order this port's inner layout is, relative to the user's row-major
         * layout: null when they are the same, when the inner layout is padded (more values
         * than the tensor), or for tensors of 2^24 values or more. Found once, by reordering the
         * row-major indices (exact in float below 2^24) through the port.
         */
        StorageOrder order() {
            if (!orderKnown) {
                order = findOrder();
                orderKnown = true;
            }
            return order;
        }

        private StorageOrder findOrder() {
            if (reorder == null) return null;
            MemorySegment userMd = mdOf(user), innerMd = innerMd();
            long bytes = dnnl_h.dnnl_memory_desc_get_size(userMd);
            if (dnnl_h.dnnl_memory_desc_get_size(innerMd) != bytes || bytes / Float.BYTES >= 1 << 24) return null;
            int n = (int) (bytes / Float.BYTES);
            int nd = dnnl_memory_desc_t.ndims(userMd);
            int[] shape = new int[nd];
            for (int d = 0; d < nd; d++) shape[d] = Math.toIntExact(dnnl_memory_desc_t.dims(userMd).getAtIndex(ValueLayout.JAVA_LONG, d));
            MemorySegment rowMajor = plan.buffer(bytes);
            int[] rowMajorIndex = new int[n];
            plan.enter();
            MemorySegment previous = innerData;
            try {
                if (mode == DIRECT) plan.bind(inner, innerBuffer);
                plan.bind(user, rowMajor);
                if (input) { // row-major indices through the reorder: position i of inner holds index rowMajorIndex[i]
                    for (int i = 0; i < n; i++) rowMajor.setAtIndex(F, i, i);
                    reorder.run();
                    plan.sync();
                    for (int i = 0; i < n; i++) rowMajorIndex[i] = (int) innerBuffer.getAtIndex(F, i);
                } else { // positions through the reorder: row-major j receives position i
                    for (int i = 0; i < n; i++) innerBuffer.setAtIndex(F, i, i);
                    reorder.run();
                    plan.sync();
                    for (int j = 0; j < n; j++) rowMajorIndex[(int) rowMajor.getAtIndex(F, j)] = j;
                }
            } finally {
                if (mode == DIRECT) plan.bind(inner, previous);
            }
            try {
                return new StorageOrder(layoutName(innerMd), shape, rowMajorIndex);
            } catch (IllegalArgumentException e) { // not a permutation: never read such a layout directly
                return null;
            }
        }

        private static MemorySegment mdOf(MemorySegment memory) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ValueLayout.ADDRESS);
                check(dnnl_h.dnnl_memory_get_memory_desc(memory, out), "dnnl_memory_get_memory_desc");
                return out.get(ValueLayout.ADDRESS, 0).reinterpret(dnnl_memory_desc_t.layout().byteSize());
            }
        }
    }

    /**
     * A blocked layout's name in oneDNN's format-tag style: the dimensions from the outermost
     * stride in, upper case when blocked, then the inner blocks (e.g. {@code Acdb16a}).
     */
    static String layoutName(MemorySegment md) {
        int nd = dnnl_memory_desc_t.ndims(md);
        MemorySegment blocking = dnnl_memory_desc_t.format_desc(md);
        MemorySegment strides = dnnl_blocking_desc_t.strides(blocking);
        int blocks = dnnl_blocking_desc_t.inner_nblks(blocking);
        boolean[] blocked = new boolean[nd];
        StringBuilder innerPart = new StringBuilder();
        for (int i = 0; i < blocks; i++) {
            int idx = (int) dnnl_blocking_desc_t.inner_idxs(blocking).getAtIndex(ValueLayout.JAVA_LONG, i);
            blocked[idx] = true;
            innerPart.append(dnnl_blocking_desc_t.inner_blks(blocking).getAtIndex(ValueLayout.JAVA_LONG, i)).append((char) ('a' + idx));
        }
        Integer[] dims = new Integer[nd];
        for (int d = 0; d < nd; d++) dims[d] = d;
        java.util.Arrays.sort(dims, (x, y) -> Long.compare(strides.getAtIndex(ValueLayout.JAVA_LONG, y),
                strides.getAtIndex(ValueLayout.JAVA_LONG, x)));
        StringBuilder name = new StringBuilder();
        for (int d : dims) name.append(blocked[d] ? (char) ('A' + d) : (char) ('a' + d));
        return name.append(innerPart).toString();
    }
}
