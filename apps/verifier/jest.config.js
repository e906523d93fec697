module.exports = { displayName: 'verifier', preset: '../../jest.preset.js', rootDir: __dirname };
