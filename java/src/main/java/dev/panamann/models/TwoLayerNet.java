package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.Mode;
import dev.panamann.layers.Param;
import dev.panamann.layers.ReLU;
import dev.panamann.layers.Sequential;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * The cs231n two-layer net: affine - relu - affine - softmax, with L2 regularization
 * {@code 0.5 * reg * (sum W1^2 + sum W2^2)} on the weights (not on the biases).
 * <ul>
 *   <li>x: (N, D), or (N, d1, ..., dk) with d1 * ... * dk = D</li>
 *   <li>W1: (D, H), b1: (H), W2: (H, C), b2: (C)</li>
 *   <li>scores: (N, C)</li>
 * </ul>
 * Weights start as {@code std * N(0, 1)} from a generator seeded with {@code seed}, biases at
 * zero. Set other values with {@code paramMap().get("W1").value().copyFrom(...)}.
 */
public final class TwoLayerNet implements Model {
    private final Affine fc1;
    private final Affine fc2;
    private final Sequential net;
    private final SoftmaxCrossEntropy softmax = new SoftmaxCrossEntropy();
    private final List<Param> params;
    private final List<Param> weights;
    private final int numClasses;
    private float reg;

    /**
     * @param ops        backend
     * @param inputDim   D
     * @param hiddenDim  H
     * @param numClasses C
     * @param std        standard deviation of the initial weights
     * @param reg        L2 regularization strength, &gt;= 0
     * @param seed       seed of the weight initialization
     */
    public TwoLayerNet(Ops ops, int inputDim, int hiddenDim, int numClasses, float std, float reg, long seed) {
        this.reg = L2.checkReg(reg);
        this.numClasses = numClasses;
        Rng rng = new Rng(seed);
        fc1 = new Affine(ops, inputDim, hiddenDim, rng, std, "W1", "b1");
        fc2 = new Affine(ops, hiddenDim, numClasses, rng, std, "W2", "b2");
        net = new Sequential(fc1, new ReLU(), fc2);
        params = List.copyOf(net.params());
        weights = List.of(fc1.weight(), fc2.weight());
    }

    /**
     * @param x input batch, (N, D)
     * @return scores, (N, C), owned by the model
     */
    @Override
    public Tensor scores(Tensor x) {
        return net.forward(x, Mode.EVAL);
    }

    /**
     * @param x input batch, (N, D)
     * @param y labels, N values in [0, C)
     * @return mean softmax loss plus {@code 0.5 * reg * (sum W1^2 + sum W2^2)}; fills every grad
     */
    @Override
    public float loss(Tensor x, int[] y) {
        return (float) lossDouble(x, y);
    }

    @Override
    public double lossDouble(Tensor x, int[] y) {
        Tensor scores = net.forward(x, Mode.TRAIN);
        double data = softmax.forwardDouble(scores, y);
        net.backward(softmax.dscores());
        return data + L2.apply(weights, reg);
    }

    @Override
    public List<Param> params() { return params; }

    @Override
    public int numClasses() { return numClasses; }

    /** The L2 regularization strength. */
    public float reg() { return reg; }

    /** @param reg new L2 regularization strength, &gt;= 0 */
    public void setReg(float reg) { this.reg = L2.checkReg(reg); }

    @Override
    public void close() {
        net.close();
        softmax.close();
    }

    @Override
    public String toString() {
        return "TwoLayerNet(" + fc1.inDim() + " -> " + fc1.outDim() + " -> " + numClasses + ", reg=" + reg + ")";
    }
}
