module.exports = { displayName: 'wallet-admin', preset: '../../jest.preset.js', rootDir: __dirname };
