package dev.panamann.layers;

import dev.panamann.ops.Elementwise;
import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A residual block: {@code out = body(x) + shortcut(x)}, where the body is any layer (usually
 * a {@link Sequential} of {@link ConvBnRelu} units) and the shortcut is the identity or a
 * projection layer (e.g. a 1x1 {@link Conv2d} with stride 2 when the body changes the channels
 * or halves H and W). Backward sends {@code dout} through both branches and adds their input
 * gradients. An activation after the sum is a separate layer (a {@link ReLU} after the block).
 *
 * <p>Parameters, generators and buffers are the body's followed by the shortcut's; their names
 * must be unique within a model (see {@link BatchNorm#named}). The block owns both branches
 * and closes them on close. Output and input-gradient buffers are reused while the shapes hold.
 */
public final class ResidualBlock implements Layer {
    private final Layer body;
    private final Layer shortcut;
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    private int[] inShape;

    /**
     * A block with the identity shortcut: the body must keep the input's shape.
     *
     * @param body the residual branch, owned by the block from now on
     */
    public ResidualBlock(Layer body) {
        this(body, null);
    }

    /**
     * @param body     the residual branch, owned by the block from now on
     * @param shortcut the projection of the skip connection (owned from now on), or null for the
     *                 identity
     */
    public ResidualBlock(Layer body, Layer shortcut) {
        if (body == null) throw new IllegalArgumentException("ResidualBlock: body is null");
        if (body == shortcut) throw new IllegalArgumentException("ResidualBlock: body and shortcut are the same layer");
        this.body = body;
        this.shortcut = shortcut;
    }

    /** The residual branch. */
    public Layer body() { return body; }

    /** The projection of the skip connection, or null for the identity. */
    public Layer shortcut() { return shortcut; }

    /**
     * @param x    input, of the shape the body takes
     * @param mode passed to both branches
     * @return {@code body(x) + shortcut(x)}, owned by this block
     * @throws IllegalArgumentException naming the shapes when the branches' outputs differ
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        Tensor b = body.forward(x, mode);
        Tensor s = shortcut == null ? x : shortcut.forward(x, mode);
        if (!b.sameShape(s)) {
            throw new IllegalArgumentException("ResidualBlock: for input " + x.shapeString() + " the body gives "
                    + b.shapeString() + " but the " + (shortcut == null ? "identity shortcut" : "shortcut") + " gives "
                    + s.shapeString() + (shortcut == null ? ": a body that changes the shape needs a projection shortcut" : ""));
        }
        Tensor o = out.like(b);
        Elementwise.add(b.segment(), s.segment(), o.segment(), o.sizeInt());
        if (mode == Mode.TRAIN) inShape = x.shape();
        return o;
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return gradient for the input: the sum of both branches' input gradients, owned by this block
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (inShape == null) throw new IllegalStateException("ResidualBlock.backward called without a TRAIN forward before it");
        dout.requireShape("ResidualBlock.backward dout", out.current().shape());
        Tensor db = body.backward(dout);
        Tensor ds = shortcut == null ? dout : shortcut.backward(dout);
        if (db == null || ds == null) {
            throw new IllegalStateException("ResidualBlock: a branch returned no input gradient (its first layer has "
                    + "setInputGradient(false)); a block inside a network needs both");
        }
        Tensor d = dx.get(inShape);
        db.requireShape("ResidualBlock body input gradient", inShape);
        ds.requireShape("ResidualBlock shortcut input gradient", inShape);
        Elementwise.add(db.segment(), ds.segment(), d.segment(), d.sizeInt());
        return d;
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(body.params());
        if (shortcut != null) ps.addAll(shortcut.params());
        return ps;
    }

    @Override
    public List<Rng> generators() {
        List<Rng> g = new ArrayList<>(body.generators());
        if (shortcut != null) for (Rng r : shortcut.generators()) if (g.stream().noneMatch(x -> x == r)) g.add(r);
        return g;
    }

    /**
     * The body's buffers, then the shortcut's.
     *
     * @throws IllegalStateException naming the buffer when both branches use one name
     */
    @Override
    public Map<String, Tensor> buffers() {
        return Sequential.mergeBuffers("ResidualBlock", shortcut == null ? List.of(body) : List.of(body, shortcut));
    }

    @Override
    public void close() {
        body.close();
        if (shortcut != null) shortcut.close();
        out.close();
        dx.close();
        inShape = null;
    }

    @Override
    public String toString() {
        return "ResidualBlock(" + body + (shortcut == null ? ", identity" : ", " + shortcut) + ")";
    }
}
