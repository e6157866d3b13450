"""MXNet's own recurrent layers, run on the book's parameters."""
from ..base.adapter import Layers
from ..base.backend import import_framework

mx = import_framework("mxnet", "mxnet")
mnp, npx = mx.np, mx.npx


class MxnetLayers(Layers):
    layer_learns_input_size = True  # gluon.rnn.RNN(hidden_size): the input size is inferred

    # MXNet's fused GRU (cuDNN's) applies the reset gate after the recurrent product; the
    # weights are packed as cuDNN's, transposed, in one flat vector.
    MODES = {"rnn": "rnn_tanh", "gru-after": "gru", "lstm": "lstm"}  # by the cells' keys

    def cell_layer(self, cell, params, inputs, state):
        """The fused operator gluon.rnn.RNN, GRU and LSTM run, on a flat parameter vector."""
        mode = self.own_layer(self.MODES, cell)
        W_x, W_h, b_ih, b_hh = cell.cudnn_weights(self, params)
        flat = mnp.concatenate([W_x.T.reshape(-1), W_h.T.reshape(-1), b_ih, b_hh])
        extra = {"state_cell": state[1][None]} if mode == "lstm" else {}
        outputs, *final = npx.rnn(data=inputs, parameters=flat, state=state[0][None],
                                  state_size=self.shape(W_h)[0], num_layers=1,
                                  mode=mode, state_outputs=True, **extra)
        return outputs, tuple(s[0] for s in final)

    def dropout(self, x, rate):
        # npx.dropout drops only under autograd.record(train_mode=True), as Gluon's layers
        return npx.dropout(x, p=rate)
