"""The stages of the dataflow design, one module each (the encoder, a dense layer, a conv
layer, the argmax), the hand-over between them, the dense stage's scan and the neuron
datapath they share."""
